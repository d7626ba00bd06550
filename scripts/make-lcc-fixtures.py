#!/usr/bin/python3
"""Fixtures for test/infer-lcc.test.ts: label maps and their connected components by scikit-image.

Run: /usr/bin/python3 scripts/make-lcc-fixtures.py   (writes test/fixtures/lcc/)

Cases: random blobs (smoothed noise thresholded into classes 1 and 2, plus isolated voxels that touch
others only at edges or corners, so 6-, 18- and 26-connectivity disagree), and a real hippocampus label
(Decathlon Task04, CC-BY-SA 4.0) with speckle noise of both classes added.

Layout: arrays are indexed [x, y, z] like nibabel; files hold them with x fastest
(arr.ravel(order='F')), the Volume layout of sds-web, gzip-compressed. For each case and connectivity:
  <case>.labels.u8.gz           the input label map
  <case>.c<N>.lcc.u8.gz         per class, everything but the largest component set to 0
  <case>.c<N>.components.u16.gz skimage.measure.label of each class (numbers offset per class)
and expected.json with shapes and per-class component counts and sizes (largest first).
"""
import gzip
import json
import os

import nibabel as nib
import numpy as np
from scipy import ndimage
from skimage.measure import label

ROOT = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(ROOT, '..', 'test', 'fixtures', 'lcc')
DATA = os.path.join(ROOT, '..', '..', 'shared', 'data')
CONNECTIVITY = {6: 1, 18: 2, 26: 3}


def blobs(seed):
    rng = np.random.default_rng(seed)
    shape = (37, 30, 26)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), 1.6)
    out = np.zeros(shape, np.uint8)
    out[noise > 0.12] = 1
    out[noise < -0.14] = 2
    # isolated voxels: some touch a blob only diagonally
    for _ in range(120):
        x, y, z = (rng.integers(0, s) for s in shape)
        out[x, y, z] = rng.integers(1, 3)
    return out


def hippocampus_noisy(seed):
    rng = np.random.default_rng(seed)
    lab = np.rint(nib.load(os.path.join(DATA, 'hippocampus', 'labels', 'hippocampus_001.nii.gz')).get_fdata()).astype(np.uint8)
    noise = rng.random(lab.shape)
    lab[noise < 0.004] = 1
    lab[(noise >= 0.004) & (noise < 0.008)] = 2
    lab[(noise >= 0.008) & (noise < 0.010)] = 0
    return lab


def write(name, arr):
    with gzip.open(os.path.join(OUT, name), 'wb', compresslevel=9) as f:
        f.write(np.ascontiguousarray(arr.ravel(order='F')).tobytes())


def describe(case, lab):
    write(f'{case}.labels.u8.gz', lab.astype(np.uint8))
    entry = {'shape': list(lab.shape), 'classes': {}}
    for conn, sk in CONNECTIVITY.items():
        lcc = lab.copy()
        components = np.zeros(lab.shape, np.uint16)
        offset = 0
        per_class = {}
        for c in sorted(int(v) for v in np.unique(lab) if v != 0):
            comp, n = label(lab == c, connectivity=sk, return_num=True)
            sizes = np.bincount(comp.ravel())[1:]
            order = np.sort(sizes)[::-1]
            assert n == 1 or order[0] > order[1], f'{case}: tie for the largest component of class {c}'
            keep = np.argmax(sizes) + 1
            lcc[(lab == c) & (comp != keep)] = 0
            components[comp > 0] = comp[comp > 0] + offset
            offset += n
            per_class[str(c)] = {'count': int(n), 'sizes': [int(s) for s in order]}
        assert offset < 65536
        write(f'{case}.c{conn}.lcc.u8.gz', lcc)
        write(f'{case}.c{conn}.components.u16.gz', components)
        entry['classes'][str(conn)] = per_class
    return entry


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {'blobs': describe('blobs', blobs(7)), 'hippocampus-noisy': describe('hippocampus-noisy', hippocampus_noisy(11))}
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)
        f.write('\n')
    for case, e in expected.items():
        print(case, e['shape'], {k: {c: v['count'] for c, v in d.items()} for k, d in e['classes'].items()})


if __name__ == '__main__':
    main()
