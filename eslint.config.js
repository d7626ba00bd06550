import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

// DESIGN.md's layers, bottom first: each folder of src/ imports only from the folders before it.
// Entries of one array are one level (they may import each other). An upward import fails the lint.
const LAYERS = [
  ['core'],
  ['contract'],
  ['backend'],
  ['ops'],
  ['volume'],
  ['nn'],
  ['infer'],
  ['train'],
  ['onnx'],
  ['api'],
  ['worker', 'cli'],
];
const layerZones = LAYERS.flatMap((level, i) =>
  level.map((folder) => ({
    target: `./src/${folder}`,
    from: LAYERS.slice(i + 1)
      .flat()
      .map((above) => `./src/${above}`),
    message: `DESIGN.md layers: src/${folder} sits below ${LAYERS.slice(i + 1)
      .flat()
      .join(', ')} and must not import from them.`,
  })),
);

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'build/',
      'node_modules/',
      'wasm/',
      'coverage/',
      'bench/results/',
      '.gpu-bench/',
      'test-results/',
      'examples/**/dist/',
      '**/.*',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser, ...globals.worker } },
    rules: {
      // TypeScript resolves names itself (WebGPU globals included); the core rule misfires on types.
      'no-undef': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layerZones.filter((zone) => zone.from.length > 0) }] },
  },
);
