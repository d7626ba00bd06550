#!/usr/bin/env python3
"""Reference for src/volume/mri-artifacts.ts gaussianBlur: scipy.ndimage.gaussian_filter with edges
clamped (mode 'nearest') on a 7 x 6 x 5 grid (X x Y x Z, x fastest), a different sigma per axis.
truncate=3 gives scipy's radius int(3 * sigma + 0.5), which equals the SDK's ceil(3 * sigma) for the
sigmas chosen here (0.5, 0.9, 1.0). Run with /usr/bin/python3 (python3-scipy); writes
test/fixtures/appearance/blur.json."""
import json
import pathlib

import numpy as np
from scipy.ndimage import gaussian_filter

X, Y, Z = 7, 6, 5
sigma_xyz = (0.5, 0.9, 1.0)
i = np.arange(X * Y * Z, dtype=np.float64)
# Distinct, uneven values (a step, a ramp and a wiggle), float32-exact.
grid = (np.sin(i * 0.37) * 3 + (i % 11) - 0.25 * (i // 42)).astype(np.float32)
volume = grid.reshape(Z, Y, X)  # C order: x fastest
blurred = gaussian_filter(volume.astype(np.float64), sigma=(sigma_xyz[2], sigma_xyz[1], sigma_xyz[0]), mode='nearest', truncate=3.0)
out = pathlib.Path(__file__).resolve().parent.parent / 'test' / 'fixtures' / 'appearance' / 'blur.json'
out.write_text(json.dumps({
    'shape': [X, Y, Z],
    'sigma': list(sigma_xyz),
    'input': [float(v) for v in grid],
    'expected': [round(float(v), 7) for v in blurred.reshape(-1)],
}) + '\n')
print(f'wrote {out}')
