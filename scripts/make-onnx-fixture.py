#!/usr/bin/python3
"""ONNX import fixtures (test/fixtures/onnx/), made with PyTorch 1.13 (Debian's python3-torch).

Maintenance step, not part of the test run:  /usr/bin/python3 scripts/make-onnx-fixture.py

Builds METHOD.md's V-Net (the class of scripts/make-golden-vnet.py) with a fixed seed, gives every
BatchNorm non-trivial gamma, beta, running mean and running var (as after training, so folding them
matters), and exports it the way PyTorch users do: torch.onnx.export in eval mode, opset 17 (the
highest torch 1.13 supports), do_constant_folding=True, dynamic N, D, H, W. In eval mode torch's
exporter folds each BatchNorm that follows a Conv into it, so those Conv nodes have anonymous
("onnx::Conv_123") initializers and no BatchNormalization: the importer has to map them by graph
structure, not by name.

Writes, per case, <case>.onnx, <case>.input.npy (the fixed input) and <case>.logits.npy (PyTorch's
logits of that input, float32), plus cases.json describing them:
  vnet-bn-f2        nFilters 2, nClasses 2, batchnorm (folded by the exporter)
  vnet-in-f1        nFilters 1, nClasses 3, instancenorm (InstanceNormalization nodes)

torch 1.13 folds BatchNorm only after Conv, not after ConvTranspose: the up-sampling blocks keep
BatchNormalization nodes (with state_dict-named initializers), so one file holds both forms. Exporting
with do_constant_folding=False gives the same graph (checked; not kept as a fixture).
"""
import importlib.util
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, '..', 'test', 'fixtures', 'onnx')
OPSET = 17

spec = importlib.util.spec_from_file_location('golden_vnet', os.path.join(HERE, 'make-golden-vnet.py'))
golden = importlib.util.module_from_spec(spec)
spec.loader.exec_module(golden)


def trained_looking(model, seed):
    """Seeded weights, and BN parameters / running stats far from the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.4 * (torch.rand(c, generator=g) - 0.5))
                m.running_mean.copy_(0.6 * (torch.rand(c, generator=g) - 0.5))
                m.running_var.copy_(0.2 + 2 * torch.rand(c, generator=g))
                m.num_batches_tracked.fill_(100)


def export_case(name, n_filters, n_classes, normalization, size, seed):
    torch.manual_seed(seed)
    model = golden.VNet(1, n_classes, n_filters, normalization)
    golden.init_like_sds(model, seed)
    trained_looking(model, seed)
    model.eval()
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((1, 1) + size).astype(np.float32))
    with torch.no_grad():
        logits = model(x)
    path = os.path.join(OUT_DIR, f'{name}.onnx')
    torch.onnx.export(
        model,
        x,
        path,
        opset_version=OPSET,
        input_names=['image'],
        output_names=['logits'],
        dynamic_axes={'image': {0: 'N', 2: 'D', 3: 'H', 4: 'W'}, 'logits': {0: 'N', 2: 'D', 3: 'H', 4: 'W'}},
        do_constant_folding=True,
        training=torch.onnx.TrainingMode.EVAL,
    )
    np.save(os.path.join(OUT_DIR, f'{name}.input.npy'), x.numpy())
    np.save(os.path.join(OUT_DIR, f'{name}.logits.npy'), logits.numpy().astype(np.float32))
    return {
        'name': name,
        'nFilters': n_filters,
        'nClasses': n_classes,
        'normalization': {'batchnorm': 'batch', 'instancenorm': 'instance', 'none': 'none'}[normalization],
        'inputShape': list(x.shape),
        'seed': seed,
        'bytes': os.path.getsize(path),
    }


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    cases = [
        export_case('vnet-bn-f2', 2, 2, 'batchnorm', (16, 16, 16), 11),
        export_case('vnet-in-f1', 1, 3, 'instancenorm', (16, 16, 32), 12),
    ]
    meta = {'torch': torch.__version__, 'opset': OPSET, 'cases': cases}
    with open(os.path.join(OUT_DIR, 'cases.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    print(json.dumps(meta, indent=2))


if __name__ == '__main__':
    main()
