#!/usr/bin/python3
"""Golden fixtures for the V-Net (test/fixtures/vnet/), made with PyTorch 1.13 (Debian's python3-torch).

Maintenance step, not part of the test run:  /usr/bin/python3 scripts/make-golden-vnet.py

The network is the UA-MT / BCP VNet (ConvBlock, DownsamplingConvBlock, UpsamplingDeconvBlock, each
conv -> norm -> ReLU; additive skips after up-sampling; Dropout3d on x5 and x9), written here in plain
torch so the state_dict names are the ones METHOD.md lists.

Initial weights follow PyTorch's default distributions (kaiming_uniform a=sqrt(5), i.e. U(+-1/sqrt(fan_in)),
for weights and biases alike), but the uniform numbers come from sds-web's counter-based generator
(src/ops/random.ts, ported below), so `initVNet(seed)` in TypeScript and this script produce the same
weights bit for bit. Dropout masks come from the same generator (ops dropoutMask's rule).

Writes:
  vnet-init.safetensors    (a) the initial state_dict (nFilters 4, nClasses 2), BN stats, num_batches_tracked I64
  vnet-golden.safetensors  (b) inputs, logits, losses, gradients, parameters and BN running stats after two
                           SGD steps, dropout off and on under the exported masks. Big tensors are stored as a
                           fixed sample (see SAMPLE_* below) plus their float64 sum and sum of squares.
  vnet-extra-head.safetensors (c) a tiny V-Net (nFilters 1) state_dict plus an unused projection-head tensor.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'vnet')

# Tensors up to FULL_LIMIT elements are stored whole; bigger ones as SAMPLE_COUNT entries at
# indices floor(i * size / SAMPLE_COUNT). Keeps the fixtures under 3 MB.
FULL_LIMIT = 512
SAMPLE_COUNT = 256
LOGITS_SAMPLE_COUNT = 2048

INIT_SEED = 1234
N_FILTERS = 4
N_CLASSES = 2
# BatchNorm in training mode over very few values per channel (the bottleneck of a small patch) is
# badly conditioned: float32 gradients can land percents away from float64 ones. [2, 1, 16, 16, 32]
# leaves 4 values per bottleneck channel and, with this input seed, PyTorch's own float32 error stays
# near 1e-4 (printed on every run); it is also cheap and not a cube, so axis mix-ups show.
BATCH = 2
SPATIAL = (16, 16, 32)
INPUT_SEED = 8
LR, MOMENTUM, WEIGHT_DECAY = 0.01, 0.9, 1e-4
DROPOUT_SEEDS = {1: {'encoder': 101, 'decoder': 102}, 2: {'encoder': 201, 'decoder': 202}}

M32 = 0xFFFFFFFF


# ---- sds-web's counter-based generator (src/ops/random.ts) --------------------------------------
def mix32(x):
    x &= M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def uniform_at(seed, index):
    return (mix32(mix32(seed) ^ index) >> 8) / 16777216.0


def uniform_array(seed, count):
    """Vectorised uniform_at over indices 0..count-1 (uint64 arithmetic masked to 32 bits)."""
    m = np.uint64(M32)

    def vmix(x):
        x = x & m
        x ^= x >> np.uint64(16)
        x = (x * np.uint64(0x7FEB352D)) & m
        x ^= x >> np.uint64(15)
        x = (x * np.uint64(0x846CA68B)) & m
        x ^= x >> np.uint64(16)
        return x

    idx = np.arange(count, dtype=np.uint64)
    v = vmix(np.uint64(mix32(seed)) ^ idx)
    return (v >> np.uint64(8)).astype(np.float64) / 16777216.0


def fnv1a(name):
    h = 0x811C9DC5
    for b in name.encode('utf-8'):
        h ^= b
        h = (h * 0x01000193) & M32
    return h


def tensor_seed(seed, name):
    """Same as src/nn/init.ts: one independent stream per parameter, keyed by its state_dict name."""
    return mix32((seed ^ fnv1a(name)) & M32)


def init_uniform(seed, name, shape, bound):
    u = uniform_array(tensor_seed(seed, name), int(np.prod(shape)))
    return torch.from_numpy(((2.0 * u - 1.0) * bound).astype(np.float32).reshape(shape))


def dropout_mask(n, c, p, seed):
    u = uniform_array(seed, n * c).reshape(n, c)
    return torch.from_numpy(np.where(u >= p, 1.0 / (1.0 - p), 0.0).astype(np.float32))


# ---- the UA-MT / BCP VNet ------------------------------------------------------------------------
def norm_layer(kind, channels):
    if kind == 'batchnorm':
        return nn.BatchNorm3d(channels)
    if kind == 'instancenorm':
        return nn.InstanceNorm3d(channels)
    assert kind == 'none'
    return None


class ConvBlock(nn.Module):
    def __init__(self, n_stages, n_in, n_out, normalization):
        super().__init__()
        ops = []
        for i in range(n_stages):
            ops.append(nn.Conv3d(n_in if i == 0 else n_out, n_out, 3, padding=1))
            norm = norm_layer(normalization, n_out)
            if norm is not None:
                ops.append(norm)
            ops.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*ops)

    def forward(self, x):
        return self.conv(x)


class DownsamplingConvBlock(nn.Module):
    def __init__(self, n_in, n_out, normalization, stride=2):
        super().__init__()
        ops = [nn.Conv3d(n_in, n_out, stride, padding=0, stride=stride)]
        norm = norm_layer(normalization, n_out)
        if norm is not None:
            ops.append(norm)
        ops.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*ops)

    def forward(self, x):
        return self.conv(x)


class UpsamplingDeconvBlock(nn.Module):
    def __init__(self, n_in, n_out, normalization, stride=2):
        super().__init__()
        ops = [nn.ConvTranspose3d(n_in, n_out, stride, padding=0, stride=stride)]
        norm = norm_layer(normalization, n_out)
        if norm is not None:
            ops.append(norm)
        ops.append(nn.ReLU(inplace=True))
        self.conv = nn.Sequential(*ops)

    def forward(self, x):
        return self.conv(x)


class FixedMaskDropout3d(nn.Module):
    """Dropout3d whose channel mask ([N, C], already scaled by 1/(1-p)) is set from outside."""

    def __init__(self):
        super().__init__()
        self.mask = None

    def forward(self, x):
        if not self.training or self.mask is None:
            return x
        return x * self.mask[:, :, None, None, None]


class Encoder(nn.Module):
    def __init__(self, n_channels, n_filters, normalization):
        super().__init__()
        f = n_filters
        self.block_one = ConvBlock(1, n_channels, f, normalization)
        self.block_one_dw = DownsamplingConvBlock(f, 2 * f, normalization)
        self.block_two = ConvBlock(2, 2 * f, 2 * f, normalization)
        self.block_two_dw = DownsamplingConvBlock(2 * f, 4 * f, normalization)
        self.block_three = ConvBlock(3, 4 * f, 4 * f, normalization)
        self.block_three_dw = DownsamplingConvBlock(4 * f, 8 * f, normalization)
        self.block_four = ConvBlock(3, 8 * f, 8 * f, normalization)
        self.block_four_dw = DownsamplingConvBlock(8 * f, 16 * f, normalization)
        self.block_five = ConvBlock(3, 16 * f, 16 * f, normalization)
        self.dropout = FixedMaskDropout3d()

    def forward(self, x):
        x1 = self.block_one(x)
        x2 = self.block_two(self.block_one_dw(x1))
        x3 = self.block_three(self.block_two_dw(x2))
        x4 = self.block_four(self.block_three_dw(x3))
        x5 = self.dropout(self.block_five(self.block_four_dw(x4)))
        return x1, x2, x3, x4, x5


class Decoder(nn.Module):
    def __init__(self, n_classes, n_filters, normalization):
        super().__init__()
        f = n_filters
        self.block_five_up = UpsamplingDeconvBlock(16 * f, 8 * f, normalization)
        self.block_six = ConvBlock(3, 8 * f, 8 * f, normalization)
        self.block_six_up = UpsamplingDeconvBlock(8 * f, 4 * f, normalization)
        self.block_seven = ConvBlock(3, 4 * f, 4 * f, normalization)
        self.block_seven_up = UpsamplingDeconvBlock(4 * f, 2 * f, normalization)
        self.block_eight = ConvBlock(2, 2 * f, 2 * f, normalization)
        self.block_eight_up = UpsamplingDeconvBlock(2 * f, f, normalization)
        self.block_nine = ConvBlock(1, f, f, normalization)
        self.out_conv = nn.Conv3d(f, n_classes, 1, padding=0)
        self.dropout = FixedMaskDropout3d()

    def forward(self, feats):
        x1, x2, x3, x4, x5 = feats
        x6 = self.block_six(self.block_five_up(x5) + x4)
        x7 = self.block_seven(self.block_six_up(x6) + x3)
        x8 = self.block_eight(self.block_seven_up(x7) + x2)
        x9 = self.block_nine(self.block_eight_up(x8) + x1)
        return self.out_conv(self.dropout(x9))


class VNet(nn.Module):
    def __init__(self, n_channels=1, n_classes=2, n_filters=16, normalization='batchnorm'):
        super().__init__()
        self.encoder = Encoder(n_channels, n_filters, normalization)
        self.decoder = Decoder(n_classes, n_filters, normalization)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def init_like_sds(model, seed):
    """PyTorch's default distributions, drawn from sds-web's generator (see module docstring)."""
    with torch.no_grad():
        for mod_name, mod in model.named_modules():
            if isinstance(mod, (nn.Conv3d, nn.ConvTranspose3d)):
                # PyTorch's fan_in is weight.size(1) * prod(kernel): Cin for Conv3d, Cout for ConvTranspose3d.
                fan_in = mod.weight.shape[1] * int(np.prod(mod.weight.shape[2:]))
                bound = 1.0 / math.sqrt(fan_in)
                mod.weight.copy_(init_uniform(seed, mod_name + '.weight', mod.weight.shape, bound))
                mod.bias.copy_(init_uniform(seed, mod_name + '.bias', mod.bias.shape, bound))


# ---- loss: METHOD.md stage 1 with no mask = diceCe weight 1 over all voxels ------------------------
def dice_ce_loss(logits, labels, weight=1.0):
    p = F.softmax(logits, dim=1)
    onehot = F.one_hot(labels.long(), logits.shape[1]).permute(0, 4, 1, 2, 3).to(p.dtype)
    dims = (2, 3, 4)
    dice = 1 - ((2 * (p * onehot).sum(dims) + 1e-5) / (p.sum(dims) + onehot.sum(dims) + 1e-5)).mean()
    voxels = labels.numel()
    ce = F.cross_entropy(logits, labels.long(), reduction='sum') / (voxels + 1e-16)
    return weight * (dice + ce) / 2


# ---- safetensors writer (8-byte LE header length, JSON header, raw LE data) ----------------------
DTYPE_CODES = {np.float32: 'F32', np.float64: 'F64', np.int64: 'I64', np.uint8: 'U8', np.int32: 'I32'}


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        arr = np.array(arr, order='C')  # not ascontiguousarray: it turns a 0-d num_batches_tracked into shape [1]
        code = DTYPE_CODES[arr.dtype.type]
        raw = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
        header[name] = {'dtype': code, 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)  # the format pads the header with spaces to 8 bytes
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)
    print(f'wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)')


def state_dict_arrays(model):
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def summarise(key, truth, float32_result, out, count=SAMPLE_COUNT):
    """Whole tensor when small, else `count` entries of the float64 truth at floor(i * size / count)
    (readers recover the indices from the stored length); then float64 [sum, sum of squares,
    PyTorch's own float32 error] with that error max |f32 - f64|: how far plain float32 arithmetic
    lands from the truth on this tensor, the yardstick the tests scale their bounds by."""
    flat = np.asarray(truth, dtype=np.float64).reshape(-1)
    f32 = np.asarray(float32_result, dtype=np.float64).reshape(-1)
    if flat.size <= max(FULL_LIMIT, count):
        picked = flat
    else:
        picked = flat[(np.arange(count) * flat.size) // count]
    f32_error = np.abs(f32 - flat).max() if flat.size else 0.0
    out[key] = picked.astype(np.float32)
    out[f'{key}#stats'] = np.array([flat.sum(), (flat * flat).sum(), f32_error], dtype=np.float64)


def make_inputs(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(BATCH, 1, *SPATIAL, generator=g)
    # A ball of foreground per sample so both classes appear and Dice is not degenerate.
    zz, yy, xx = torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in SPATIAL], indexing='ij')
    labels = []
    for n in range(BATCH):
        c = torch.tensor([s / 2 for s in SPATIAL]) + torch.rand(3, generator=g) * 4 - 2
        r = 3 + n
        labels.append(((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r).to(torch.uint8))
    y = torch.stack(labels)
    x = x + 1.5 * y[:, None].float()  # the image correlates with the label
    return x, y


def run_case(dropout, dtype, init_state, inputs):
    """Two SGD steps on the stage-1 loss; returns every array the fixture summarises, by key."""
    model = VNet(1, N_CLASSES, N_FILTERS, 'batchnorm')
    model.load_state_dict(init_state)
    model.to(dtype).train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    res, losses = {}, []
    for step, (x, y) in enumerate(inputs, start=1):
        if dropout:
            enc = dropout_mask(BATCH, 16 * N_FILTERS, 0.5, DROPOUT_SEEDS[step]['encoder'])
            dec = dropout_mask(BATCH, N_FILTERS, 0.5, DROPOUT_SEEDS[step]['decoder'])
            model.encoder.dropout.mask, model.decoder.dropout.mask = enc.to(dtype), dec.to(dtype)
            res[f'mask{step}/encoder'], res[f'mask{step}/decoder'] = enc.numpy(), dec.numpy()
        opt.zero_grad()
        logits = model(x.to(dtype))
        loss = dice_ce_loss(logits, y)
        loss.backward()
        losses.append(loss.item())
        if step == 1:
            res['logits1'] = logits.detach().numpy()
            for name, prm in model.named_parameters():
                res[f'grad1/{name}'] = prm.grad.numpy().copy()
        opt.step()
    res['losses'] = np.array(losses, dtype=np.float64)
    # Eval mode after training: BatchNorm uses the running statistics, dropout is off.
    model.eval()
    with torch.no_grad():
        res['logitsEval'] = model(inputs[0][0].to(dtype)).numpy()
    for name, value in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            assert int(value) == len(inputs)
            continue
        res[f'state2/{name}'] = value.numpy().copy()
    return res


def golden_case(case, dropout, init_state, inputs, out):
    """The float64 run is the truth stored; the float32 run only measures PyTorch's own float32 error."""
    truth = run_case(dropout, torch.float64, init_state, inputs)
    single = run_case(dropout, torch.float32, init_state, inputs)
    for key, value in truth.items():
        if key.startswith('mask'):
            out[f'{case}/{key}'] = value
        elif key == 'losses':
            out[f'{case}/losses'] = value
        else:
            # Logits get a dense sample: the forward pass is checked on one voxel in sixteen.
            summarise(f'{case}/{key}', value, single[key], out, LOGITS_SAMPLE_COUNT if key.startswith('logits') else SAMPLE_COUNT)
    relative = []
    for k in out:
        if k.startswith(case + '/') and k.endswith('#stats'):
            name = k[len(case) + 1 : -len('#stats')]
            scale = np.abs(truth[name]).max()
            if scale > 1e-6:  # conv biases before BN have ~0 gradients: their relative error means nothing
                relative.append((out[k][2] / scale, name))
    worst = sorted(relative)[-3:]
    print(f'{case}: losses {truth["losses"]}, float32 losses {single["losses"]}, worst PyTorch float32 relative errors {worst}')


def main():
    torch.set_grad_enabled(True)
    os.makedirs(OUT_DIR, exist_ok=True)
    config = {'inChannels': 1, 'nClasses': N_CLASSES, 'nFilters': N_FILTERS, 'normalization': 'batch', 'dropout': True}

    model = VNet(1, N_CLASSES, N_FILTERS, 'batchnorm')
    init_like_sds(model, INIT_SEED)
    init_state = {k: v.clone() for k, v in model.state_dict().items()}
    write_safetensors(
        os.path.join(OUT_DIR, 'vnet-init.safetensors'),
        state_dict_arrays(model),
        {'format': 'pt', 'sds.config': json.dumps(config), 'sds.initSeed': str(INIT_SEED), 'producer': 'make-golden-vnet.py'},
    )

    # Both SGD steps see the same batch (fewer fixture bytes); the parameters still move twice.
    x, y = make_inputs(INPUT_SEED)
    inputs = [(x, y), (x, y)]
    out = {'input/x': x.numpy().astype(np.float32), 'input/y': y.numpy().astype(np.uint8)}
    golden_case('nodrop', False, init_state, inputs, out)
    golden_case('drop', True, init_state, inputs, out)
    meta = {
        'fullLimit': str(FULL_LIMIT),
        'sampleCount': str(SAMPLE_COUNT),
        'initSeed': str(INIT_SEED),
        'sgd': json.dumps({'lr': LR, 'momentum': MOMENTUM, 'weightDecay': WEIGHT_DECAY}),
        'dropoutSeeds': json.dumps(DROPOUT_SEEDS),
        'config': json.dumps(config),
        'torch': torch.__version__,
        'truth': 'float64',
    }
    write_safetensors(os.path.join(OUT_DIR, 'vnet-golden.safetensors'), out, meta)

    tiny = VNet(1, N_CLASSES, 1, 'batchnorm')
    init_like_sds(tiny, INIT_SEED)
    tensors = state_dict_arrays(tiny)
    tensors['projection_head.0.weight'] = np.arange(8, dtype=np.float32).reshape(2, 4)
    tiny_config = dict(config, nFilters=1)
    write_safetensors(
        os.path.join(OUT_DIR, 'vnet-extra-head.safetensors'),
        tensors,
        {'format': 'pt', 'sds.config': json.dumps(tiny_config), 'sds.initSeed': str(INIT_SEED)},
    )


if __name__ == '__main__':
    # `--check FILE`: read a safetensors file written by sds-web and load it into a VNet (round trip).
    if len(sys.argv) == 3 and sys.argv[1] == '--check':
        with open(sys.argv[2], 'rb') as f:
            (n,) = struct.unpack('<Q', f.read(8))
            header = json.loads(f.read(n))
            data = f.read()
        meta = header.pop('__metadata__', {})
        cfg = json.loads(meta['sds.config'])
        types = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64, 'U8': np.uint8, 'I32': np.int32}
        state = {}
        for name, h in header.items():
            a, b = h['data_offsets']
            state[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=types[h['dtype']]).reshape(h['shape']).copy())
        net = VNet(cfg['inChannels'], cfg['nClasses'], cfg['nFilters'], {'batch': 'batchnorm', 'instance': 'instancenorm', 'none': 'none'}[cfg['normalization']])
        net.load_state_dict(state, strict=True)
        print(f'ok: loaded {len(state)} tensors into VNet({cfg}), metadata {meta}')
    else:
        main()
