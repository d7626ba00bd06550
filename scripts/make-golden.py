#!/usr/bin/python3
"""Golden fixtures for the compute core, computed with PyTorch (and numpy for rot90/flip).

Run from the repository root, once, when an op's semantics change (CI does NOT run this; the JSON files
it writes are small and committed, and test/golden.test.ts holds every backend to them):

    /usr/bin/python3 scripts/make-golden.py

Needs Debian's python3-torch (written against torch 1.13, CPU only) and numpy. Deterministic: fixed
torch.manual_seed, so re-running reproduces the files byte for byte on the same torch version.

Numbers: inputs are drawn in float32 and stored as float32 (9 significant digits round-trip exactly);
every expected output is computed in float64 from those exact float32 inputs and stored as float64, so
the test measures the backend's own float32 error and nothing else.

Layout of each file: {"generator", "torch", "cases": [{"name", "params", "tensors": {name: {"shape",
"dtype", "data"}}}]} with flat row-major data. dtype "float32" marks inputs, "float64" expected values,
"uint8"/"int32" integer tensors (labels, masks, argmax).
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "golden")
SEED = 20251126


def f32(shape, scale=1.0):
    """A float32 random normal input, returned as the float64 tensor holding exactly those values."""
    return (torch.randn(*shape, dtype=torch.float32) * scale).to(torch.float32).double()


def r32(t):
    """Rounds a float64 tensor to the nearest float32 values, so derived inputs are stored exactly."""
    return t.to(torch.float32).double()


def enc(t, dtype):
    t = t.detach()
    if dtype == "float32":
        # '%.9g' is the shortest text that always round-trips a float32.
        data = [float("%.9g" % v) for v in t.to(torch.float32).flatten().tolist()]
    elif dtype == "float64":
        data = [float(v) for v in t.double().flatten().tolist()]
    else:
        data = [int(v) for v in t.flatten().tolist()]
    for v in data:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("non-finite value in fixture")
    return {"shape": list(t.shape), "dtype": dtype, "data": data}


class Case:
    def __init__(self, name, **params):
        self.name = name
        self.params = params
        self.tensors = {}

    def input(self, key, t):
        self.tensors[key] = enc(t, "float32")

    def expect(self, key, t):
        self.tensors[key] = enc(t, "float64")

    def ints(self, key, t, dtype="uint8"):
        self.tensors[key] = enc(t, dtype)

    def json(self):
        return {"name": self.name, "params": self.params, "tensors": self.tensors}


def write(file_name, cases):
    os.makedirs(OUT_DIR, exist_ok=True)
    body = {"generator": "scripts/make-golden.py", "torch": torch.__version__, "cases": [c.json() for c in cases]}
    path = os.path.join(OUT_DIR, file_name)
    with open(path, "w") as f:
        json.dump(body, f, separators=(",", ":"))
        f.write("\n")
    print("%-28s %8d bytes, %d cases" % (file_name, os.path.getsize(path), len(cases)))


# ---------------------------------------------------------------------------------------------------
# conv3d forward and its three gradients, via autograd of sum(y * g) for a random g (so dy = g).


def conv3d_case(name, n, ci, co, spatial, kernel, stride, padding, dilation, bias):
    x = f32((n, ci) + spatial).requires_grad_()
    w = f32((co, ci) + kernel, scale=0.3).requires_grad_()
    b = f32((co,)).requires_grad_() if bias else None
    y = F.conv3d(x, w, b, stride=stride, padding=padding, dilation=dilation)
    g = f32(tuple(y.shape))
    (y * g).sum().backward()
    c = Case(name, stride=list(stride), padding=list(padding), dilation=list(dilation), kernel=list(kernel),
             inputSpatial=list(spatial), hasBias=bias)
    c.input("x", x)
    c.input("w", w)
    if bias:
        c.input("b", b)
    c.input("dy", g)
    c.expect("y", y)
    c.expect("dx", x.grad)
    c.expect("dw", w.grad)
    # The bias gradient is channelSum(dy) whether or not the layer has a bias.
    c.expect("db", g.sum((0, 2, 3, 4)))
    return c


def conv3d_cases():
    return [
        conv3d_case("k3 s1 p1 3->5 bias", 2, 3, 5, (6, 5, 7), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), True),
        conv3d_case("k2 s2 p0 4->6 down-conv", 2, 4, 6, (8, 6, 8), (2, 2, 2), (2, 2, 2), (0, 0, 0), (1, 1, 1), False),
        conv3d_case("k3 s2 p1 d2 2->3", 1, 2, 3, (9, 9, 7), (3, 3, 3), (2, 2, 2), (1, 1, 1), (2, 2, 2), False),
        conv3d_case("k1 s1 p0 4->3 bias", 2, 4, 3, (4, 3, 5), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), True),
    ]


# ---------------------------------------------------------------------------------------------------
# ConvTranspose3d k2 s2 with bias (V-Net up-conv), weight [Cin_t, Cout_t, 2, 2, 2].


def conv_transpose_cases():
    n, cin, cout, spatial = 2, 6, 4, (3, 4, 3)
    x = f32((n, cin) + spatial).requires_grad_()
    w = f32((cin, cout, 2, 2, 2), scale=0.3).requires_grad_()
    b = f32((cout,)).requires_grad_()
    y = F.conv_transpose3d(x, w, b, stride=2)
    g = f32(tuple(y.shape))
    (y * g).sum().backward()
    c = Case("convT k2 s2 6->4 bias", stride=[2, 2, 2], padding=[0, 0, 0], dilation=[1, 1, 1], kernel=[2, 2, 2],
             outSpatial=list(y.shape[2:]))
    c.input("x", x)
    c.input("w", w)
    c.input("b", b)
    c.input("dy", g)
    c.expect("y", y)
    c.expect("dx", x.grad)
    c.expect("dw", w.grad)
    c.expect("db", b.grad)
    return [c]


# ---------------------------------------------------------------------------------------------------
# BatchNorm3d: train mode (one forward from given running stats, momentum 0.1, eps 1e-5), backward,
# and eval mode.


def batch_norm_cases():
    n, ch, spatial = 2, 3, (4, 3, 5)
    momentum, eps = 0.1, 1e-5
    # Off-centre, non-unit inputs so the mean and variance actually matter.
    x_leaf = r32(f32((n, ch) + spatial) * 1.5 + 0.7).requires_grad_()
    gamma = r32(f32((ch,), 0.2) + 1.0).requires_grad_()
    beta = f32((ch,), 0.2).requires_grad_()
    rm0 = f32((ch,), 0.1)
    rv0 = r32(f32((ch,), 0.1).abs() + 0.9)
    rm, rv = rm0.clone(), rv0.clone()
    y = F.batch_norm(x_leaf, rm, rv, gamma, beta, training=True, momentum=momentum, eps=eps)
    g = f32(tuple(y.shape))
    (y * g).sum().backward()
    dims = (0, 2, 3, 4)
    mean = x_leaf.detach().mean(dims)
    inv_std = 1.0 / torch.sqrt(x_leaf.detach().var(dims, unbiased=False) + eps)
    train = Case("batchNorm train", momentum=momentum, eps=eps)
    train.input("x", x_leaf)
    train.input("gamma", gamma)
    train.input("beta", beta)
    train.input("runningMean", rm0)
    train.input("runningVar", rv0)
    train.input("dy", g)
    train.expect("y", y)
    train.expect("mean", mean)
    train.expect("invStd", inv_std)
    train.expect("runningMeanAfter", rm)
    train.expect("runningVarAfter", rv)
    train.expect("dx", x_leaf.grad)
    train.expect("dgamma", gamma.grad)
    train.expect("dbeta", beta.grad)

    y_eval = F.batch_norm(x_leaf.detach(), rm0, rv0, gamma.detach(), beta.detach(), training=False, eps=eps)
    ev = Case("batchNorm eval", eps=eps)
    ev.input("x", x_leaf)
    ev.input("gamma", gamma)
    ev.input("beta", beta)
    ev.input("runningMean", rm0)
    ev.input("runningVar", rv0)
    ev.expect("y", y_eval)
    return [train, ev]


# ---------------------------------------------------------------------------------------------------
# The two losses of METHOD.md, written in plain torch ops exactly as steps 4 and 5 state them.
# Cube mask M: 1 outside the cube, 0 inside. Region "outside" is M, "inside" is 1 - M, none is all voxels.
# |R| counts voxels over the whole batch (the clean reading of "sum of voxel CE over R / (|R| + 1e-16)").

N_CLASSES, LOSS_BATCH, LOSS_SPATIAL = 3, 2, (6, 5, 4)
CUBE_START, CUBE_SIZE = (1, 1, 0), (4, 3, 3)


def one_hot(labels, classes):
    return F.one_hot(labels.long(), classes).permute(0, 4, 1, 2, 3).double()


def dice_ce(logits, labels, region, weight):
    """weight * (Dice_R + CE_R) / 2; region is a [D, H, W] 0/1 tensor or None for all voxels."""
    n, c = logits.shape[:2]
    r = torch.ones(logits.shape[2:], dtype=torch.float64) if region is None else region
    p = torch.softmax(logits, 1)
    y = one_hot(labels, c)
    r5 = r[None, None]
    inter = (p * y * r5).sum((2, 3, 4))
    union = (p * r5).sum((2, 3, 4)) + (y * r5).sum((2, 3, 4))
    dice = 1 - ((2 * inter + 1e-5) / (union + 1e-5)).mean()
    ce_voxel = -(torch.log_softmax(logits, 1) * y).sum(1)  # [N, D, H, W]
    r4 = r[None].expand(n, *r.shape)
    ce = (ce_voxel * r4).sum() / (r4.sum() + 1e-16)
    return weight * (dice + ce) / 2


def disagreement_mse(logits, other, target, mask, w_out, w_in):
    d = (logits.argmax(1) != other.argmax(1)).double()  # no gradient flows through the argmax
    w = w_out * mask + w_in * (1 - mask)
    e = w[None] * ((torch.softmax(logits, 1) - one_hot(target, logits.shape[1])) ** 2).mean(1)
    return (d * e).sum() / (d.sum() + 1e-16)


def loss_cases():
    shape = (LOSS_BATCH, N_CLASSES) + LOSS_SPATIAL
    logits = f32(shape, 1.5)
    other = f32(shape, 1.5)
    lab_a = torch.randint(0, N_CLASSES, (LOSS_BATCH,) + LOSS_SPATIAL)
    lab_b = torch.randint(0, N_CLASSES, (LOSS_BATCH,) + LOSS_SPATIAL)
    mask = torch.ones(LOSS_SPATIAL, dtype=torch.float64)
    (d0, h0, w0), (sd, sh, sw) = CUBE_START, CUBE_SIZE
    mask[d0:d0 + sd, h0:h0 + sh, w0:w0 + sw] = 0
    mixed = (lab_a * mask.long() + lab_b * (1 - mask.long())).to(torch.uint8)

    cases = []
    masks = Case("cube mask and cut-mix", cubeStart=list(CUBE_START), cubeSize=list(CUBE_SIZE))
    masks.ints("mask", mask.to(torch.uint8))
    masks.ints("labelsA", lab_a)
    masks.ints("labelsB", lab_b)
    masks.ints("mixed", mixed)
    img_a, img_b = f32((LOSS_BATCH, 2) + LOSS_SPATIAL), f32((LOSS_BATCH, 2) + LOSS_SPATIAL)
    masks.input("imageA", img_a)
    masks.input("imageB", img_b)
    masks.expect("imageMixed", img_a * mask + img_b * (1 - mask))
    cases.append(masks)

    for region, labels, which, weight in [
        ("outside", lab_a, "A", 1.0),
        ("inside", lab_b, "B", 0.5),
        ("outside", lab_a, "A", 0.5),
        ("inside", lab_b, "B", 1.0),
        (None, lab_a, "A", 1.0),
        (None, lab_b, "B", 0.5),
    ]:
        z = logits.clone().requires_grad_()
        r = None if region is None else (mask if region == "outside" else 1 - mask)
        loss = dice_ce(z, labels, r, weight)
        loss.backward()
        c = Case("diceCe region=%s weight=%g" % (region or "none", weight), region=region, weight=weight, labels=which)
        c.input("logits", z)
        c.ints("labels", labels)
        if region is not None:
            c.ints("mask", mask.to(torch.uint8))
        c.expect("loss", loss)
        c.expect("grad", z.grad)
        cases.append(c)

    for w_out, w_in in [(1.0, 0.5), (0.5, 1.0)]:
        z = logits.clone().requires_grad_()
        loss = disagreement_mse(z, other, mixed, mask, w_out, w_in)
        loss.backward()
        c = Case("disagreementMse out=%g in=%g" % (w_out, w_in), weightOutside=w_out, weightInside=w_in,
                 disagreeing=int((logits.argmax(1) != other.argmax(1)).sum()))
        c.input("logits", z)
        c.input("other", other)
        c.ints("target", mixed)
        c.ints("mask", mask.to(torch.uint8))
        c.expect("loss", loss)
        c.expect("grad", z.grad)
        cases.append(c)
    return cases


# ---------------------------------------------------------------------------------------------------
# torch.optim.SGD(lr=0.01, momentum=0.9, weight_decay=1e-4): two steps from a zero momentum state.


def sgd_cases():
    lr, momentum, wd = 0.01, 0.9, 1e-4
    p0 = f32((4, 3, 5))
    g1, g2 = f32((4, 3, 5)), f32((4, 3, 5))
    param = torch.nn.Parameter(p0.clone())
    opt = torch.optim.SGD([param], lr=lr, momentum=momentum, weight_decay=wd)
    c = Case("sgd two steps", lr=lr, momentum=momentum, weightDecay=wd)
    c.input("param", p0)
    c.input("grad1", g1)
    c.input("grad2", g2)
    param.grad = g1.clone()
    opt.step()
    c.expect("paramAfter1", param)
    c.expect("bufferAfter1", opt.state[param]["momentum_buffer"])
    param.grad = g2.clone()
    opt.step()
    c.expect("paramAfter2", param)
    c.expect("bufferAfter2", opt.state[param]["momentum_buffer"])
    return [c]


# ---------------------------------------------------------------------------------------------------
# softmax / argmax over channels, ReLU forward and backward.


def elementwise_cases():
    x = f32((2, 4, 3, 2, 5), 2.0)
    sm = Case("softmax and argmax")
    sm.input("x", x)
    sm.expect("softmax", torch.softmax(x, 1))
    sm.ints("argmax", x.argmax(1).to(torch.uint8))

    xr = f32((2, 3, 4, 3, 2))
    y = torch.relu(xr)
    dy = f32(tuple(y.shape))
    relu = Case("relu forward and backward")
    relu.input("x", xr)
    relu.input("dy", dy)
    relu.expect("y", y)
    relu.expect("dx", dy * (y > 0).double())
    return [sm, relu]


# ---------------------------------------------------------------------------------------------------
# numpy.rot90 / numpy.flip on the spatial axes (0 = D, 1 = H, 2 = W are tensor axes 2, 3, 4).


def rot_flip_cases():
    img = np.arange(1 * 2 * 3 * 4 * 5, dtype=np.float32).reshape(1, 2, 3, 4, 5) * np.float32(0.5) - np.float32(7)
    lab = (np.arange(2 * 3 * 4 * 5) % 7).astype(np.uint8).reshape(2, 3, 4, 5)
    cases = []
    for plane in [(0, 1), (1, 2), (0, 2), (2, 0)]:
        for k in [1, 2, 3]:
            c = Case("rot90 k=%d axes=%s" % (k, plane), k=k, axes=list(plane))
            c.input("x", torch.from_numpy(img))
            c.expect("y", torch.from_numpy(np.ascontiguousarray(np.rot90(img, k, (plane[0] + 2, plane[1] + 2)))))
            cases.append(c)
    c = Case("rot90 labels k=1 axes=(1, 2)", k=1, axes=[1, 2])
    c.ints("x", torch.from_numpy(lab))
    c.ints("y", torch.from_numpy(np.ascontiguousarray(np.rot90(lab, 1, (2, 3)))))
    cases.append(c)
    for axes in [[0], [1], [2], [0, 2], [0, 1, 2]]:
        c = Case("flip axes=%s" % axes, axes=axes)
        c.input("x", torch.from_numpy(img))
        c.expect("y", torch.from_numpy(np.ascontiguousarray(np.flip(img, [a + 2 for a in axes]))))
        cases.append(c)
    c = Case("flip labels axes=[0, 2]", axes=[0, 2])
    c.ints("x", torch.from_numpy(lab))
    c.ints("y", torch.from_numpy(np.ascontiguousarray(np.flip(lab, [1, 3]))))
    cases.append(c)
    return cases


# ---------------------------------------------------------------------------------------------------
# LA-EMA (METHOD.md step 8): alpha_t = 1 - max(1 / (1 + t), floor) * exp(-temperature * loss).


def la_ema_alpha(t, loss, temperature=0.3, floor=0.01):
    return 1.0 - max(1.0 / (1.0 + t), floor) * math.exp(-temperature * loss)


def la_ema_cases():
    cases = []
    for t, loss in [(1, 0.0), (1, 0.8), (7, 2.5), (99, 0.35), (100, 0.35), (1000, 0.1), (5000, 4.0)]:
        loss32 = float(np.float32(loss))
        c = Case("laEmaAlpha t=%d loss=%g" % (t, loss), t=t, temperature=0.3, floor=0.01)
        c.input("loss", torch.tensor(loss32, dtype=torch.float64))
        c.expect("alpha", torch.tensor(la_ema_alpha(t, loss32), dtype=torch.float64))
        cases.append(c)
    teacher, student = f32((3, 2, 5)), f32((3, 2, 5))
    t, loss32 = 3, float(np.float32(0.6))
    alpha = la_ema_alpha(t, loss32)
    c = Case("emaUpdate after laEmaAlpha", t=t, temperature=0.3, floor=0.01)
    c.input("loss", torch.tensor(loss32, dtype=torch.float64))
    c.input("teacher", teacher)
    c.input("student", student)
    c.expect("alpha", torch.tensor(alpha, dtype=torch.float64))
    c.expect("teacherAfter", alpha * teacher + (1 - alpha) * student)
    cases.append(c)
    return cases


def main():
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    write("conv3d.json", conv3d_cases())
    write("conv-transpose3d.json", conv_transpose_cases())
    write("batch-norm.json", batch_norm_cases())
    write("losses.json", loss_cases())
    write("sgd.json", sgd_cases())
    write("elementwise.json", elementwise_cases())
    write("rot90-flip.json", rot_flip_cases())
    write("la-ema.json", la_ema_cases())


if __name__ == "__main__":
    main()
