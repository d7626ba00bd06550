#!/usr/bin/python3
"""Writes the small, committed fixtures of the volume layer (test/fixtures/volume/) and the expected
values the TypeScript tests compare against. A maintenance step, not part of the test run.

Uses Debian's python3 packages: nibabel (NIfTI files and their affines), scipy (EDT, resampling),
pydicom (DICOM series written from a real hippocampus scan), h5py (LA expectations).

    /usr/bin/python3 scripts/make-volume-fixtures.py

Every file written here is written by a reference library, never by sds-web, so a reader bug cannot
hide behind a writer bug. Expected numbers go to expected.json.
"""
import json
import os
import struct
import sys

import h5py
import nibabel as nib
import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian, JPEGBaseline8Bit
from scipy import ndimage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
OUT = os.path.join(ROOT, "test", "fixtures", "volume")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20250101)
expected = {}


def probe_indices(shape, count=6):
    """A few (x, y, z) voxel indices spread over the volume, corners included."""
    pts = [(0, 0, 0), tuple(s - 1 for s in shape)]
    for _ in range(count - 2):
        pts.append(tuple(int(rng.integers(0, s)) for s in shape))
    return [list(map(int, p)) for p in pts]


def describe(data, affine, extra=None):
    data = np.asarray(data)
    probes = probe_indices(data.shape[:3])
    out = {
        "shape": list(map(int, data.shape[:3])),
        "affine": np.asarray(affine, dtype=float).reshape(-1).tolist(),
        "sum": float(np.sum(data, dtype=np.float64)),
        "probes": [[p, float(data[tuple(p)])] for p in probes],
    }
    if extra:
        out.update(extra)
    return out


def oblique_affine(zooms, angles, offset, flip_z=False):
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    r = rz @ ry @ rx
    z = np.array(zooms, dtype=float)
    if flip_z:
        z[2] = -z[2]
    a = np.eye(4)
    a[:3, :3] = r @ np.diag(z)
    a[:3, 3] = offset
    return a


# ---------------------------------------------------------------- NIfTI: one small file per case
def nifti_cases():
    shape = (5, 4, 3)
    aff = np.diag([1.5, 2.0, 2.5, 1.0])
    aff[:3, 3] = [-10, 20, 5.5]
    ranges = {
        "uint8": (0, 255), "int8": (-128, 127), "int16": (-3000, 3000), "uint16": (0, 60000),
        "int32": (-100000, 100000), "uint32": (0, 4000000000),
    }
    for name, (lo, hi) in ranges.items():
        d = rng.integers(lo, hi, size=shape, endpoint=True).astype(name)
        img = nib.Nifti1Image(d, aff)
        img.set_data_dtype(name)
        img.header.set_slope_inter(1, 0)
        fname = f"dtype-{name}.nii.gz"
        nib.save(img, os.path.join(OUT, fname))
        back = nib.load(os.path.join(OUT, fname))
        expected[fname] = describe(back.get_fdata(), back.affine, {"dtype": name, "scaled": False})

    # float32 and float64 (gz and not), both with sform
    for name in ("float32", "float64"):
        d = rng.normal(size=shape).astype(name) * 100
        img = nib.Nifti1Image(d, aff)
        img.set_data_dtype(name)
        fname = f"dtype-{name}.nii"
        nib.save(img, os.path.join(OUT, fname))
        back = nib.load(os.path.join(OUT, fname))
        expected[fname] = describe(back.get_fdata(), back.affine, {"dtype": name, "scaled": False})

    # big-endian int16 with scl_slope / scl_inter. nibabel clears a hand-set slope when it saves, so
    # the two header floats are patched in afterwards and nibabel re-reads the file for the truth.
    d = rng.integers(-2000, 2000, size=(6, 5, 4)).astype(np.int16)
    hdr = nib.Nifti1Header(endianness=">")
    img = nib.Nifti1Image(d, oblique_affine((0.9, 1.1, 3.0), (0.1, -0.2, 0.3), (3, -4, 12)), header=hdr)
    img.set_data_dtype(np.int16)
    fname = "big-endian-int16-scaled.nii"
    nib.save(img, os.path.join(OUT, fname))
    with open(os.path.join(OUT, fname), "r+b") as f:
        f.seek(112)
        f.write(struct.pack(">ff", 0.125, -7.5))
    back = nib.load(os.path.join(OUT, fname))
    assert back.header.endianness == ">"
    # a loaded image keeps its scaling on the array proxy, not in img.header
    slope, inter = back.dataobj.slope, back.dataobj.inter
    assert (slope, inter) == (0.125, -7.5)
    expected[fname] = describe(
        back.get_fdata(), back.affine, {"dtype": "int16", "scaled": True, "slope": float(slope), "inter": float(inter)}
    )

    # NIfTI-2, gz, float32, sform
    d = rng.normal(size=(7, 3, 5)).astype(np.float32)
    img = nib.Nifti2Image(d, oblique_affine((1.0, 1.0, 1.2), (0.0, 0.0, 0.5), (1, 2, 3)))
    fname = "nifti2-float32.nii.gz"
    nib.save(img, os.path.join(OUT, fname))
    back = nib.load(os.path.join(OUT, fname))
    assert back.header.sizeof_hdr == 540
    expected[fname] = describe(back.get_fdata(), back.affine, {"dtype": "float32", "scaled": False})

    # NIfTI-2, big-endian int16 (covers 64-bit dims and BE together)
    d = rng.integers(-500, 500, size=(4, 6, 3)).astype(np.int16)
    img = nib.Nifti2Image(d, aff, header=nib.Nifti2Header(endianness=">"))
    img.set_data_dtype(np.int16)
    img.header.set_slope_inter(1, 0)
    fname = "nifti2-big-endian-int16.nii"
    nib.save(img, os.path.join(OUT, fname))
    back = nib.load(os.path.join(OUT, fname))
    expected[fname] = describe(back.get_fdata(), back.affine, {"dtype": "int16", "scaled": False})

    # oblique qform only (sform_code 0), left-handed (qfac -1)
    d = rng.integers(0, 200, size=(5, 6, 4)).astype(np.uint8)
    qa = oblique_affine((0.8, 1.3, 2.2), (0.3, 0.2, -0.4), (-50.5, 12.25, 30), flip_z=True)
    img = nib.Nifti1Image(d, None)
    img.set_qform(qa, code=1)
    img.set_sform(None, code=0)
    fname = "oblique-qform-only.nii.gz"
    nib.save(img, os.path.join(OUT, fname))
    back = nib.load(os.path.join(OUT, fname))
    assert back.header["sform_code"] == 0 and back.header["qform_code"] == 1 and back.header["pixdim"][0] == -1
    expected[fname] = describe(back.get_fdata(), back.affine, {"dtype": "uint8", "scaled": False})

    # neither qform nor sform: nibabel falls back to its Analyze-style base affine
    d = rng.integers(0, 9, size=(3, 4, 5)).astype(np.uint8)
    hdr = nib.Nifti1Header()
    hdr.set_data_shape(d.shape)
    hdr.set_data_dtype(np.uint8)
    hdr.set_zooms((2.0, 3.0, 4.0))
    img = nib.Nifti1Image(d, None, header=hdr)
    img.set_qform(None, code=0)
    img.set_sform(None, code=0)
    fname = "no-transform.nii"
    nib.save(img, os.path.join(OUT, fname))
    back = nib.load(os.path.join(OUT, fname))
    assert back.header["sform_code"] == 0 and back.header["qform_code"] == 0
    expected[fname] = describe(back.get_fdata(), back.affine, {"dtype": "uint8", "scaled": False})

    # RGB24 must be rejected with a clear error
    rgb = np.zeros((2, 2, 2), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    nib.save(nib.Nifti1Image(rgb, np.eye(4)), os.path.join(OUT, "rgb24.nii"))


# ---------------------------------------------------------------- real hippocampus scans
def hippocampus():
    base = os.path.join(DATA, "hippocampus")
    for case in ("hippocampus_001", "hippocampus_003"):
        for kind in ("images", "labels"):
            img = nib.load(os.path.join(base, kind, case + ".nii.gz"))
            expected[f"hippocampus/{kind}/{case}.nii.gz"] = describe(
                img.get_fdata(), img.affine, {"dtype": str(img.get_data_dtype())}
            )
    # reference label map written by nibabel: uint8, intent label, source geometry
    src = nib.load(os.path.join(base, "labels", "hippocampus_003.nii.gz"))
    lab = np.rint(src.get_fdata()).astype(np.uint8)
    ref = nib.Nifti1Image(lab, src.affine, header=src.header)
    ref.set_data_dtype(np.uint8)
    ref.header.set_intent("label")
    ref.header.set_slope_inter(1, 0)
    ref.set_qform(src.affine, code=int(src.header["qform_code"]))
    ref.set_sform(src.affine, code=int(src.header["sform_code"]))
    nib.save(ref, os.path.join(OUT, "label-written-by-nibabel.nii.gz"))
    h = nib.load(os.path.join(OUT, "label-written-by-nibabel.nii.gz")).header
    expected["label-written-by-nibabel.nii.gz"] = {
        "intent_code": int(h["intent_code"]), "datatype": int(h["datatype"]), "bitpix": int(h["bitpix"]),
        "dim": h["dim"].tolist(), "pixdim": h["pixdim"].tolist(),
        "qform_code": int(h["qform_code"]), "sform_code": int(h["sform_code"]),
        "quatern": [float(h["quatern_b"]), float(h["quatern_c"]), float(h["quatern_d"])],
        "qoffset": [float(h["qoffset_x"]), float(h["qoffset_y"]), float(h["qoffset_z"])],
        "srow": np.concatenate([h["srow_x"], h["srow_y"], h["srow_z"]]).tolist(),
        "vox_offset": float(h["vox_offset"]), "xyzt_units": int(h["xyzt_units"]),
    }
    return src, lab


# ---------------------------------------------------------------- LA HDF5 expectations (no copy)
def left_atrium():
    case = "06SR5RBREL16DQ6M8LWS"
    with h5py.File(os.path.join(DATA, "la", case, "mri_norm2.h5"), "r") as f:
        image = f["image"][:]
        label = f["label"][:]
    expected[f"la/{case}/mri_norm2.h5"] = {
        "image": describe(image, np.diag([0.625, 0.625, 0.625, 1.0])),
        "label": describe(label, np.diag([0.625, 0.625, 0.625, 1.0])),
    }
    # a small LA-format file for the corrupt-input tests (chunked, gzip as the originals)
    with h5py.File(os.path.join(OUT, "la-small.h5"), "w") as f:
        f.create_dataset("image", data=image[60:70, 50:58, 40:46], compression="gzip", compression_opts=4)
        f.create_dataset("label", data=label[60:70, 50:58, 40:46], compression="gzip", compression_opts=4)
    expected["la-small.h5"] = {
        "image": describe(image[60:70, 50:58, 40:46], np.diag([0.625, 0.625, 0.625, 1.0])),
        "label": describe(label[60:70, 50:58, 40:46], np.diag([0.625, 0.625, 0.625, 1.0])),
    }


# ---------------------------------------------------------------- DICOM series from a real scan
def dicom_slice(pixels, k, lps, spacing_xy, slope, inter, ts, uid_root, name, instance):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage
    meta.MediaStorageSOPInstanceUID = f"{uid_root}.{instance}"
    meta.TransferSyntaxUID = ts
    ds = FileDataset(name, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.SeriesInstanceUID = uid_root
    ds.InstanceNumber = instance
    ds.PatientName = "Decathlon^Hippocampus"
    ds.ImagePositionPatient = [f"{v:.6f}" for v in (lps @ np.array([0, 0, k, 1.0]))[:3]]
    rowcos = lps[:3, 0] / np.linalg.norm(lps[:3, 0])
    colcos = lps[:3, 1] / np.linalg.norm(lps[:3, 1])
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in np.concatenate([rowcos, colcos])]
    # PixelSpacing is (between rows, between columns) = (y, x) spacing
    ds.PixelSpacing = [f"{spacing_xy[1]:.6f}", f"{spacing_xy[0]:.6f}"]
    ds.SliceThickness = f"{float(np.linalg.norm(lps[:3, 2])):.6f}"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope = f"{slope}"
    ds.RescaleIntercept = f"{inter}"
    arr = pixels.astype(np.int16)
    ds.PixelData = arr.astype(">i2" if ts == ExplicitVRBigEndian else "<i2").tobytes()
    return ds


def dicom_series():
    src = nib.load(os.path.join(DATA, "hippocampus", "images", "hippocampus_003.nii.gz"))
    vol = src.get_fdata()
    # give the series a real oblique geometry so sorting and the affine are exercised
    ras = oblique_affine((0.9, 1.0, 1.4), (0.05, -0.1, 0.2), (-20.0, 35.0, -12.5))
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras
    slope, inter = 0.25, -100.0
    stored = np.rint((vol - inter) / slope)
    assert stored.max() < 32767 and stored.min() >= -32768
    values = stored * slope + inter
    X, Y, Z = vol.shape
    series_dir = os.path.join(OUT, "dicom-hippocampus_003")
    os.makedirs(series_dir, exist_ok=True)
    order = rng.permutation(Z)  # file names do not follow slice order
    uid_root = "1.2.826.0.1.3680043.8.498.1"
    for n, k in enumerate(order):
        pixels = stored[:, :, k].T  # rows = y, columns = x
        name = os.path.join(series_dir, f"IM{n:04d}.dcm")
        ds = dicom_slice(pixels, k, lps, (0.9, 1.0), slope, inter, ImplicitVRLittleEndian, uid_root, name, int(Z - k))
        ds.save_as(name, write_like_original=False)
    expected["dicom-hippocampus_003"] = describe(
        values, ras, {"spacing": [0.9, 1.0, 1.4], "slope": slope, "inter": inter, "maxAbsErrorVsSource": float(np.max(np.abs(values - vol)))}
    )

    # three slices, explicit VR big endian, axial identity orientation
    be_dir = os.path.join(OUT, "dicom-big-endian")
    os.makedirs(be_dir, exist_ok=True)
    small = rng.integers(-1000, 1000, size=(4, 3, 3)).astype(np.int16)  # x, y, z
    ras_b = np.diag([-0.5, -0.75, 2.0, 1.0])  # LPS-aligned grid seen in RAS
    ras_b[:3, 3] = [10, 20, -30]
    lps_b = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras_b
    for k in range(3):
        name = os.path.join(be_dir, f"slice{k}.dcm")
        ds = dicom_slice(small[:, :, k].T, k, lps_b, (0.5, 0.75), 1, 0, ExplicitVRBigEndian, "1.2.826.0.1.3680043.8.498.2", name, k + 1)
        ds.save_as(name, write_like_original=False)
    expected["dicom-big-endian"] = describe(small.astype(float), ras_b, {"spacing": [0.5, 0.75, 2.0]})

    # a compressed transfer syntax: the header says JPEG baseline; the reader must refuse by name
    name = os.path.join(OUT, "dicom-jpeg-baseline.dcm")
    ds = dicom_slice(np.zeros((2, 2)), 0, lps_b, (0.5, 0.75), 1, 0, ImplicitVRLittleEndian, "1.2.826.0.1.3680043.8.498.3", name, 1)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.is_implicit_VR = False
    ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    ds["PixelData"].VR = "OB"
    ds.save_as(name, write_like_original=False)


# ---------------------------------------------------------------- preprocessing expectations
def preprocessing(label_src):
    img_nii = nib.load(os.path.join(DATA, "hippocampus", "images", "hippocampus_003.nii.gz"))
    img = img_nii.get_fdata()
    lab = np.rint(label_src.get_fdata()).astype(np.uint8)
    mask = lab > 0
    pre = {
        "mean": float(img.mean()), "std": float(img.std()),
        "maskedMean": float(img[mask].mean()), "maskedStd": float(img[mask].std()),
        "p0_5": float(np.percentile(img, 0.5)), "p99_5": float(np.percentile(img, 99.5)),
        "p2_masked": float(np.percentile(img[mask], 2)), "p98_masked": float(np.percentile(img[mask], 98)),
    }
    # resampling, MONAI Spacing convention: voxel 0 stays put, out = round((in-1)*s_in/s_out)+1,
    # output voxel i samples input coordinate i*s_out/s_in, edge values beyond the last voxel.
    target = np.array([1.3, 0.7, 1.9])
    spacing = np.array([1.0, 1.0, 1.0])
    out_shape = (np.round((np.array(img.shape) - 1) * spacing / target) + 1).astype(int)
    grid = np.meshgrid(*[np.arange(n) * t / s for n, t, s in zip(out_shape, target, spacing)], indexing="ij")
    lin = ndimage.map_coordinates(img, grid, order=1, mode="nearest")
    near_idx = [np.clip(np.floor(g + 0.5).astype(int), 0, n - 1) for g, n in zip(grid, img.shape)]
    near = lab[tuple(near_idx)]
    pre["resample"] = {
        "target": target.tolist(),
        "image": describe(lin, _scaled_affine(img_nii.affine, target / spacing)),
        "labelCounts": [int(np.sum(near == c)) for c in range(3)],
        "label": describe(near, _scaled_affine(img_nii.affine, target / spacing)),
    }
    expected["preprocess"] = pre


def _scaled_affine(affine, factors):
    out = np.array(affine, dtype=float)
    out[:3, :3] = out[:3, :3] @ np.diag(factors)
    return out


# ---------------------------------------------------------------- metrics expectations
def surface(mask):
    return mask & ~ndimage.binary_erosion(mask, structure=np.ones((3, 3, 3)), border_value=0)


def surface_distances(a, b, spacing):
    """MONAI get_surface_distance: distances from the surface of a to the surface of b."""
    sa, sb = surface(a), surface(b)
    if not sb.any():
        return np.full(int(sa.sum()), np.inf)
    if not sa.any():
        return np.full(int(sb.sum()), np.inf)
    return ndimage.distance_transform_edt(~sb, sampling=spacing)[sa]


def metrics(pred, gt, classes, spacing):
    out = {}
    for c in classes:
        p, g = pred == c, gt == c
        inter = np.sum(p & g)
        dice = 2 * inter / (p.sum() + g.sum())
        jac = inter / np.sum(p | g)
        d1, d2 = surface_distances(p, g, spacing), surface_distances(g, p, spacing)
        hd95 = max(np.percentile(d1, 95), np.percentile(d2, 95))
        asd = np.concatenate([d1, d2]).mean()
        out[str(c)] = {"dice": float(dice), "jaccard": float(jac), "hd95": float(hd95), "asd": float(asd)}
    return out


def metric_cases(label_src, lab):
    pred = np.zeros_like(lab)
    shifted = np.roll(lab, shift=(1, -2, 0), axis=(0, 1, 2))
    pred[shifted == 1] = 1
    eroded2 = ndimage.binary_erosion(lab == 2, structure=np.ones((3, 3, 3)))
    pred[eroded2 & (pred == 0)] = 2
    nib.save(nib.Nifti1Image(pred, label_src.affine), os.path.join(OUT, "hippocampus_003-pred.nii.gz"))
    expected["metrics-hippocampus_003"] = {
        "spacing1": metrics(pred, lab, (1, 2), (1.0, 1.0, 1.0)),
        "spacingAniso": {"spacing": [0.8, 1.2, 2.0], "values": metrics(pred, lab, (1, 2), (0.8, 1.2, 2.0))},
    }
    # a random blob pair on an odd anisotropic grid: EDT against scipy voxel by voxel
    blob = ndimage.gaussian_filter(rng.normal(size=(9, 7, 11)), 1.5) > 0.05
    dt = ndimage.distance_transform_edt(~blob, sampling=(0.7, 1.9, 1.1))
    expected["edt-blob"] = {
        "shape": list(blob.shape), "spacing": [0.7, 1.9, 1.1],
        # x fastest, as Volume stores data
        "mask": blob.transpose(2, 1, 0).reshape(-1).astype(int).tolist(),
        "distance": dt.transpose(2, 1, 0).reshape(-1).tolist(),
    }


def main():
    if not os.path.isdir(DATA):
        sys.exit(f"real data not found at {DATA}")
    nifti_cases()
    label_src, lab = hippocampus()
    left_atrium()
    dicom_series()
    preprocessing(label_src)
    metric_cases(label_src, lab)
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote {OUT} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
