// rollup (and vitest, via the same plugin) turn `import src from './x.wgsl'` into the shader text.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
