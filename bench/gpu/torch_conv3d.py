"""PyTorch peer for bench/conv3d-run.ts: times the same convolutions (bench/conv3d-cases.json) in fp32.

Usage: python3 torch_conv3d.py --cases bench/conv3d-cases.json [--device cuda|cpu] [--quick]
Prints one JSON object on stdout: {"torch": version, "device": name, "gflops": {"<kernel> <case>": GFLOP/s}}.
FLOPs count 2 per multiply-add of the direct convolution, the same count bench/conv3d-run.ts uses, so the
two sides compare time for the same work. CUDA timings synchronise (torch.cuda.synchronize) around
the timed loop; TF32 is disabled so both sides do fp32 math.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

KERNELS = ("conv3d", "conv3dBackwardData", "conv3dBackwardFilter")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, min_seconds=0.3, max_reps=200):
    fn()  # warm-up: cuDNN algorithm choice, allocator
    sync(device)
    reps, start = 0, time.perf_counter()
    while True:
        fn()
        reps += 1
        if reps >= max_reps or (reps >= 3 and time.perf_counter() - start >= min_seconds):
            sync(device)
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds or reps >= max_reps:
                return elapsed / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
    spec = json.load(open(args.cases))
    out = {}
    gen = torch.Generator().manual_seed(0)
    for c in spec["cases"]:
        size = c["size"] // spec["quickDivisor"] if args.quick else c["size"]
        k, s, p = c["k"], c["s"], c["p"]
        x = torch.rand(c["n"], c["ci"], size, size, size, generator=gen).to(device)
        w = torch.rand(c["co"], c["ci"], k, k, k, generator=gen).to(device)
        y = F.conv3d(x, w, stride=s, padding=p)
        dy = torch.rand(y.shape, generator=gen).to(device)
        flops = 2.0 * y.numel() * c["ci"] * k ** 3
        conv_args = ([s] * 3, [p] * 3, [1] * 3, False, [0] * 3, 1)
        runs = {
            "conv3d": lambda: F.conv3d(x, w, stride=s, padding=p),
            "conv3dBackwardData": lambda: torch.ops.aten.convolution_backward(dy, x, w, None, *conv_args, [True, False, False]),
            "conv3dBackwardFilter": lambda: torch.ops.aten.convolution_backward(dy, x, w, None, *conv_args, [False, True, False]),
        }
        if c.get("transposed"):
            # ConvTranspose3d(co -> ci)'s forward is this conv's backward-data: time the call a
            # PyTorch model makes (conv_transpose3d), same weights, same work.
            runs["conv3dBackwardData"] = lambda: F.conv_transpose3d(dy, w, stride=s, padding=p)
        with torch.no_grad():
            for kernel in KERNELS:
                seconds = timed(runs[kernel], device)
                out[f"{kernel} {c['name']}"] = flops / seconds / 1e9
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(json.dumps({"torch": torch.__version__, "device": name, "gflops": out}))


if __name__ == "__main__":
    main()
