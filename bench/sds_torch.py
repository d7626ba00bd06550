#!/usr/bin/python3
"""PyTorch peer (CPU, or CUDA with --device cuda) of bench/sds-run.ts: one SDS iteration (METHOD.md stage 2, mode 'sds') and one Mean
Teacher iteration (mode 'mean-teacher', BCP) written in plain PyTorch, step for step as sds-web's
src/train/sds/iteration.ts runs them, timed the same way (median of the repeats after warm-up iterations).

Run by bench/sds-run.ts as a subprocess:  /usr/bin/python3 bench/sds_torch.py --threads 2 [--device cuda] --case '<json>' ...
(each --case is bench/support/sds-bench.ts torchCase(): mode, classes, width, half batch n, patch, the
config's constants, seeds, warm-up and repeats). Prints one JSON line on stdout: {"torch", "threads",
"device", "cases": [{"name", "ms": [...], "medianMs", "losses", "selected"}]}; progress goes to stderr. Needs
Debian's python3-torch (1.13) and python3-scipy (or any PyTorch with CUDA, on the GPU machine).

--device cuda: networks and batch on the GPU, fp32 (TF32 off for cuDNN and matmul, as bench/vnet_torch.py),
eager; the argmax volumes go to the host for the largest-component step (scipy), as sds-web reads them back
for its host LCC; torch.cuda.synchronize() before the clock starts and before it stops.

The network is scripts/make-golden-vnet.py's VNet (imported through vnet_torch.py's loader, so it cannot
drift from the TypeScript V-Net the golden tests hold to it), with torch's nn.Dropout3d(p=0.5) as in UA-MT,
and its init_like_sds(): the initial weights are sds-web's, bit for bit. The batch is built from sds-web's
generator too (uniform_array), so at the first iteration both sides make the same pseudo-labels.

What maps to what (TypeScript in src/train/sds/, one PyTorch function or line here):
  step 1 pseudoLabelHalves (pseudo-labels.ts): teacher in eval mode (switches.teacherDropoutForPseudoLabels
      false), one forward over both unlabeled halves joined (in train mode one per half), argmax, read back,
      largest 26-connected component per sample and class on the host (TypeScript: union-find; here
      scipy.ndimage.label, as UA-MT / BCP's getLargestCC does with skimage), back to a tensor per half
                                                                               -> pseudo_label_halves()
  step 2 cubeMaskFor + cutMixBatch (cut-mix-batch.ts): one cube of floor(2/3 size) per axis, X_l, X_u and
      the mixed label maps                                                     -> cut_mix()
  steps 3-5 forwardBackward (iteration.ts) + studentLoss (student-loss.ts): both students in train mode
      forward X_l, each student's L_mix (two diceCe terms, outside and inside the cube) + corWeight x the
      disagreement MSE against the other student's logits (no gradient through them), backward; then the
      same on X_u, gradients summed (TypeScript stashes and adds them; autograd accumulates)
                                                                               -> student_losses(), the loop in iterate()
  step 6 updateStudent (update-student.ts): losses read back, one SGD step per student whose loss is
      finite (momentum 0.9, weight decay 1e-4)                                 -> opt.step()
  step 7 selectStudent (select-student.ts): each student in eval mode forwards unimg_a and unimg_b
      joined in one batch (as the TypeScript does; the same logits as separate forwards), logits read back,
      argmax + LCC on the host, agreement-masked cross-entropy c_k, argmin (tie: S1)  -> select_student()
  step 8 laEmaAlphaFor / fixedEmaAlpha + laEmaUpdate (la-ema.ts): alpha from the selected student's loss
      (LA-EMA) or min(1 - 1/(t+1), 0.99) (Mean Teacher); teacher parameters and BatchNorm running
      statistics averaged, num_batches_tracked not                             -> ema_update()
  Mean Teacher: one student, no disagreement term, no step 7, fixed EMA.
Not mirrored, because it is sds-web's own safety net with no PyTorch counterpart in the authors' code:
the copy of each student's BatchNorm running statistics before its training forwards (put back when
the loss is not finite; a few KB) and the read-back counter.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import ndimage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vnet_torch import bench_device, load_golden_module  # noqa: E402  (the bench folder is not a package)

STRUCTURES = {6: ndimage.generate_binary_structure(3, 1), 18: ndimage.generate_binary_structure(3, 2), 26: np.ones((3, 3, 3), bool)}


# ---- data and networks, the same rules as bench/support/sds-bench.ts --------------------------------
def ball_labels(patch, n_classes):
    d, h, w = patch
    zz, yy, xx = np.meshgrid(*[np.arange(s, dtype=np.float64) for s in (d, h, w)], indexing='ij')
    r = min(d, h, w) / 4
    inside = (zz - d / 2) ** 2 + (yy - h / 2) ** 2 + (xx - w / 2) ** 2 <= r * r
    labels = inside.astype(np.uint8)
    if n_classes > 2:
        labels[inside & (zz >= d / 2)] = 2
    return labels


def make_batch(golden, case, device):
    n, patch = case['half'], tuple(case['patch'])
    ball = ball_labels(patch, case['nClasses'])
    labels = torch.from_numpy(np.broadcast_to(ball, (n,) + patch).copy())
    voxels = ball.size

    def image(seed):
        u = golden.uniform_array(seed, n * voxels).reshape((n, 1) + patch)
        return torch.from_numpy((2 * u - 1 + np.where(ball > 0, 1.5, 0.0)).astype(np.float32))

    a, b, ua, ub = case['imageSeeds']
    batch = {'img_a': image(a), 'lab_a': labels, 'img_b': image(b), 'lab_b': labels.clone(), 'unimg_a': image(ua), 'unimg_b': image(ub)}
    return {k: v.to(device) for k, v in batch.items()}


def make_networks(golden, case, device):
    count = 2 if case['mode'] == 'sds' else 1
    nets = []
    for _ in range(count + 1):  # the students, then the teacher, all from the same initial weights
        net = golden.VNet(n_channels=1, n_classes=case['nClasses'], n_filters=case['nFilters'], normalization='batchnorm')
        golden.init_like_sds(net, case['initSeed'])
        net.encoder.dropout = nn.Dropout3d(p=0.5)
        net.decoder.dropout = nn.Dropout3d(p=0.5)
        nets.append(net.to(device))
    students, teacher = nets[:count], nets[count]
    teacher.eval()
    o = case['optimizer']
    # Built after .to(device) so the momentum buffers live beside the parameters.
    optimizers = [torch.optim.SGD(s.parameters(), lr=o['lr'], momentum=o['momentum'], weight_decay=o['weightDecay']) for s in students]
    return students, teacher, optimizers


# ---- host work: the largest connected component (METHOD.md step 1 and 7) ---------------------------
def keep_largest_component(classes, connectivity):
    """classes [N, D, H, W] uint8 (numpy): per sample and foreground class, voxels outside the class's
    largest component become background (UA-MT / BCP getLargestCC, per class)."""
    out = classes.copy()
    for sample in out:
        present = np.flatnonzero(np.bincount(sample.ravel()))
        for c in present[present > 0]:  # the foreground classes of this sample
            components, count = ndimage.label(sample == c, structure=STRUCTURES[connectivity])
            if count > 1:
                sizes = np.bincount(components.ravel())
                sizes[0] = 0
                sample[(components != sizes.argmax()) & (components > 0)] = 0
    return out


def pseudo_labels(teacher, unimg, case):
    teacher.train(case['teacherTrainMode'])
    with torch.no_grad():
        classes = teacher(unimg).argmax(1).to(torch.uint8).cpu().numpy()
    teacher.eval()
    return torch.from_numpy(keep_largest_component(classes, case['lccConnectivity'])).to(unimg.device)


def pseudo_label_halves(teacher, batch, case):
    # Eval mode: one forward over both halves (each sample's logits do not depend on the others').
    if case['teacherTrainMode']:
        return pseudo_labels(teacher, batch['unimg_a'], case), pseudo_labels(teacher, batch['unimg_b'], case)
    n = batch['unimg_a'].shape[0]
    both = pseudo_labels(teacher, torch.cat([batch['unimg_a'], batch['unimg_b']]), case)
    return both[:n], both[n:]


# ---- losses (METHOD.md steps 4 and 5, float32; make-golden.py holds the float64 versions the kernels are tested on)
def one_hot(labels, classes):
    return F.one_hot(labels.long(), classes).permute(0, 4, 1, 2, 3).float()


def dice_ce(logits, labels, region, weight):
    """weight * (Dice_R + CE_R) / 2 on the region R ([D, H, W] 0/1 float) of every sample."""
    n = logits.shape[0]
    p = torch.softmax(logits, 1)
    y = one_hot(labels, logits.shape[1])
    r5 = region[None, None]
    inter = (p * y * r5).sum((2, 3, 4))
    union = (p * r5).sum((2, 3, 4)) + (y * r5).sum((2, 3, 4))
    dice = 1 - ((2 * inter + 1e-5) / (union + 1e-5)).mean()
    ce = (F.cross_entropy(logits, labels.long(), reduction='none') * region[None]).sum() / (n * region.sum() + 1e-16)
    return weight * (dice + ce) / 2


def mixed_loss(logits, mask, pair):
    return dice_ce(logits, pair['outside'], mask, pair['w_out']) + dice_ce(logits, pair['inside'], 1 - mask, pair['w_in'])


def disagreement_mse(logits, other, pair, mask):
    d = (logits.argmax(1) != other.argmax(1)).float()
    w = pair['w_out'] * mask + pair['w_in'] * (1 - mask)
    e = w[None] * ((torch.softmax(logits, 1) - one_hot(pair['mixed'], logits.shape[1])) ** 2).mean(1)
    return (d * e).sum() / (d.sum() + 1e-16)


def student_losses(logits, mask, pair, cor_weight):
    """L_mix per student, plus cor_weight x L_xor against the other student where there are two."""
    losses = []
    for k, z in enumerate(logits):
        loss = mixed_loss(z, mask, pair)
        if len(logits) == 2:
            loss = loss + cor_weight * disagreement_mse(z, logits[1 - k].detach(), pair, mask)
        losses.append(loss)
    return losses


# ---- steps 2, 7, 8 -------------------------------------------------------------------------------------
def cut_mix(batch, pa, pb, case, rng):
    patch = case['patch']
    size = [math.floor(s * case['cubeFraction']) for s in patch]
    start = [int(rng.integers(0, s - e + 1)) for s, e in zip(patch, size)]
    mask = torch.ones(patch, device=batch['img_a'].device)
    mask[start[0]:start[0] + size[0], start[1]:start[1] + size[1], start[2]:start[2] + size[2]] = 0
    inside = mask == 0

    def pair(out_img, in_img, outside, w_out, inside_labels, w_in):
        return {
            'image': out_img * mask + in_img * (1 - mask),
            'outside': outside, 'w_out': w_out, 'inside': inside_labels, 'w_in': w_in,
            'mixed': torch.where(inside, inside_labels, outside),
        }

    u = case['uWeight']
    return mask, [
        pair(batch['img_a'], batch['unimg_a'], batch['lab_a'], 1.0, pa, u),  # X_l
        pair(batch['unimg_b'], batch['img_b'], pb, u, batch['lab_b'], 1.0),  # X_u
    ]


def select_student(students, batch, case):
    views = []
    for net in students:
        net.eval()
        with torch.no_grad():
            logits = net(torch.cat([batch['unimg_a'], batch['unimg_b']]))
        labels = keep_largest_component(logits.argmax(1).to(torch.uint8).cpu().numpy(), case['lccConnectivity'])
        views.append((logits, torch.from_numpy(labels).long().to(logits.device)))
        net.train()
    agree = (views[0][1] == views[1][1]).float()
    confidence = [float((F.cross_entropy(z, y, reduction='none') * agree).sum() / (agree.sum() + 1e-16)) for z, y in views]
    return (1 if confidence[1] < confidence[0] else 0), confidence


def ema_update(teacher, student, alpha, batch_norm_stats):
    with torch.no_grad():
        for t, s in zip(teacher.parameters(), student.parameters()):
            t.mul_(alpha).add_(s, alpha=1 - alpha)
        if batch_norm_stats:
            for (name, t), s in zip(teacher.named_buffers(), student.buffers()):
                if not name.endswith('num_batches_tracked'):
                    t.mul_(alpha).add_(s, alpha=1 - alpha)


def iterate(students, teacher, optimizers, batch, case, t, rng):
    """Steps 1-8 of one self-training iteration t (from 1); returns the students' losses and the selected one."""
    pa, pb = pseudo_label_halves(teacher, batch, case)
    mask, pairs = cut_mix(batch, pa, pb, case, rng)
    for net in students:
        net.train()
    for opt in optimizers:
        opt.zero_grad()
    totals = [0.0] * len(students)
    for pair in pairs:
        logits = [net(pair['image']) for net in students]
        losses = student_losses(logits, mask, pair, case['corWeight'])
        sum(losses).backward()  # each loss reaches only its own student: the other's logits are detached
        totals = [a + loss.detach() for a, loss in zip(totals, losses)]
    values = [float(v) for v in totals]
    for opt, v in zip(optimizers, values):
        if math.isfinite(v):
            opt.step()
    selected = 0
    if case['mode'] == 'sds':
        selected, _ = select_student(students, batch, case)
        la = case['laEma']
        alpha = 1 - max(1 / (1 + t), la['floor']) * math.exp(-la['temperature'] * values[selected])
    else:
        alpha = min(1 - 1 / (t + 1), case['fixedEmaAlphaMax'])
    ema_update(teacher, students[selected], alpha, case['emaBatchNormStats'])
    return values, selected


def time_case(golden, case, device):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    students, teacher, optimizers = make_networks(golden, case, device)
    batch = make_batch(golden, case, device)
    cuda = device.type == 'cuda'
    times, values, picks = [], [], []
    for k in range(case['warmup'] + case['repeats']):
        if cuda:
            torch.cuda.synchronize()  # nothing queued before the clock starts
        start = time.perf_counter()
        values, selected = iterate(students, teacher, optimizers, batch, case, k + 1, rng)
        if cuda:
            torch.cuda.synchronize()  # the EMA update's kernels finished
        ms = (time.perf_counter() - start) * 1000
        picks.append(selected)
        if k >= case['warmup']:
            times.append(ms)
        warm = ' (warm-up)' if k < case['warmup'] else ''
        losses = ' '.join(f'{v:.4f}' for v in values)
        print(f'torch {case["name"]} iteration {k + 1}{warm}: {ms:.0f} ms, losses {losses}, S{selected + 1}', file=sys.stderr)
    return {'name': case['name'], 'ms': times, 'medianMs': statistics.median(times), 'losses': values, 'selected': picks}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--case', action='append', required=True, help='JSON: bench/support/sds-bench.ts torchCase()')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device, name = bench_device(args.device, 'sds_torch.py')
    golden = load_golden_module()
    cases = []
    for text in args.case:
        case = json.loads(text)
        if case['mode'] not in ('sds', 'mean-teacher'):
            sys.exit(f'sds_torch.py: mode {case["mode"]!r} is not benchmarked (sds, mean-teacher)')
        cases.append(time_case(golden, case, device))
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'device': name, 'cases': cases}))


if __name__ == '__main__':
    main()
