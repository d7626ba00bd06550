#!/usr/bin/python3
"""PyTorch peer (CPU, or CUDA with --device cuda) of bench/vnet-run.ts: one V-Net training step (forward, (CE + Dice) / 2 loss, backward,
SGD with momentum and weight decay), train mode, Dropout3d on, BatchNorm, at the shapes given.

Run by bench/vnet-run.ts as a subprocess:  /usr/bin/python3 bench/vnet_torch.py --threads 2 --repeats 3 \
    --shape 4,1,32,48,32 --shape 1,1,80,112,112 [--device cuda]
Prints one JSON line on stdout: {"torch": version, "threads": n, "device": name, "cases": [{"shape", "ms": [...],
"medianMs", "loss"}]}; progress goes to stderr.

The network is the one scripts/make-golden-vnet.py writes out in plain torch (the UA-MT / BCP VNet the
TypeScript VNet mirrors), imported from there so the two cannot drift; only its FixedMaskDropout3d
(masks injected by the golden tests) is swapped for torch's own nn.Dropout3d(p=0.5), as in UA-MT.
It is found at $SDS_GOLDEN_VNET when set, else ../scripts/make-golden-vnet.py from this file (the
layout of both the repository and the GPU bench kit, bench/gpu/README.md).

--device cuda: model and data on the GPU, fp32 (TF32 off for cuDNN and matmul, so the figures are
comparable with sds-web's fp32 kernels), torch.cuda.synchronize() before and after each timed step.
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


def load_golden_module():
    path = os.environ.get('SDS_GOLDEN_VNET') or os.path.join(HERE, '..', 'scripts', 'make-golden-vnet.py')
    spec = importlib.util.spec_from_file_location('make_golden_vnet', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its main() is behind `if __name__ == '__main__'`
    return module


def make_batch(shape, generator):
    n, _, d, h, w = shape
    zz, yy, xx = torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in (d, h, w)], indexing='ij')
    # A centred ball of foreground so both classes appear (Dice is not degenerate).
    ball = ((zz - d / 2) ** 2 + (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= (min(d, h, w) / 4) ** 2).to(torch.uint8)
    labels = ball.expand(n, d, h, w).contiguous()
    image = torch.randn(*shape, generator=generator) + 1.5 * labels[:, None].float()
    return image, labels


def time_case(golden, shape, warmup, repeats, device):
    torch.manual_seed(0)
    model = golden.VNet(n_channels=shape[1], n_classes=2, n_filters=16, normalization='batchnorm')
    model.encoder.dropout = nn.Dropout3d(p=0.5)
    model.decoder.dropout = nn.Dropout3d(p=0.5)
    model.to(device).train()
    # Built after .to(device) so its momentum buffers live beside the parameters.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    image, labels = make_batch(shape, torch.Generator().manual_seed(1))
    image, labels = image.to(device), labels.to(device)
    cuda = device.type == 'cuda'

    def step():
        optimizer.zero_grad()
        loss = golden.dice_ce_loss(model(image), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    times, loss = [], float('nan')
    for k in range(warmup + repeats):
        if cuda:
            torch.cuda.synchronize()  # nothing queued before the clock starts
        start = time.perf_counter()
        loss = step()  # .item() already waits for the loss; the sync also waits for the SGD update
        if cuda:
            torch.cuda.synchronize()
        ms = (time.perf_counter() - start) * 1000
        if k >= warmup:
            times.append(ms)
        print(f'torch {shape} step {k}{" (warm-up)" if k < warmup else ""}: {ms:.0f} ms, loss {loss:.4f}', file=sys.stderr)
    return {'shape': shape, 'ms': times, 'medianMs': statistics.median(times), 'loss': loss}


def bench_device(kind, script):
    """The torch.device for --device cpu|cuda and its name; on CUDA, fp32 like sds-web (TF32 would trade
    mantissa bits for tensor-core speed). Shared with bench/sds_torch.py."""
    if kind == 'cuda':
        if not torch.cuda.is_available():
            sys.exit(f'{script}: --device cuda asked for, but torch.cuda.is_available() is False')
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.device(kind)
    return device, (torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--shape', action='append', required=True, help='N,C,D,H,W')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device, name = bench_device(args.device, 'vnet_torch.py')
    golden = load_golden_module()
    cases = [time_case(golden, [int(v) for v in s.split(',')], args.warmup, args.repeats, device) for s in args.shape]
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'device': name, 'cases': cases}))


if __name__ == '__main__':
    main()
