/**
 * What a kernel hands the runtime to dispatch a shader (ONNX Runtime Web's ProgramInfo, reduced).
 * Uniforms are declared once, as a typed list: the runtime generates the WGSL struct from it and packs
 * the values in the same order, so the two can never disagree (STYLE.md, points 4 and 6).
 */
export type UniformType = 'u32' | 'i32' | 'f32';
export type UniformField = readonly [name: string, type: UniformType];

export interface ProgramInfo {
  /** Names the shader source uniquely (a shader file, or a file + variant); cache key stem and GPU label. */
  readonly name: string;
  /**
   * WGSL from shaders/*.wgsl. It uses `params.<field>` for uniforms and declares its storage buffers
   * at @group(0) @binding(1), (2), ... in the order the kernel passes them; binding 0 is the generated
   * uniform struct. Entry point `main`.
   */
  readonly source: string;
  readonly uniforms: readonly UniformField[];
  /** Values for `override` constants (tile and workgroup sizes): part of the pipeline cache key. */
  readonly constants?: Readonly<Record<string, number>>;
  /** Extra WGSL prepended to the source (e.g. shaders/random.wgsl). */
  readonly includes?: readonly string[];
  /** WGSL extensions the program uses (`enable subgroups;`), which must open the module. */
  readonly enables?: readonly string[];
}

export function uniformStructWgsl(fields: readonly UniformField[]): string {
  // A uniform struct cannot be empty; a kernel without uniforms still gets one padding field.
  const members = fields.length > 0 ? fields.map(([n, t]) => `  ${n}: ${t},`).join('\n') : '  _unused: u32,';
  return `struct Params {\n${members}\n}\n@group(0) @binding(0) var<uniform> params: Params;\n`;
}

export function fullSource(program: ProgramInfo): string {
  const enables = (program.enables ?? []).map((e) => `enable ${e};`);
  return [...enables, uniformStructWgsl(program.uniforms), ...(program.includes ?? []), program.source].join('\n');
}

/** Bytes of the uniform block: 4 per field, rounded up to 16 (uniform struct alignment). */
export const uniformBytes = (fields: readonly UniformField[]): number => Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);

export function packUniforms(fields: readonly UniformField[], values: readonly number[], into: DataView, offset: number): void {
  if (values.length !== fields.length) {
    throw new Error(`uniforms: expected ${fields.length} values (${fields.map((f) => f[0]).join(', ')}), found ${values.length}`);
  }
  fields.forEach(([, type], i) => {
    const v = values[i];
    const at = offset + i * 4;
    if (type === 'f32') into.setFloat32(at, v, true);
    else if (type === 'i32') into.setInt32(at, v, true);
    else into.setUint32(at, v, true);
  });
}

export function pipelineKey(program: ProgramInfo): string {
  const constants = program.constants ? Object.entries(program.constants).sort(([a], [b]) => (a < b ? -1 : 1)) : [];
  return `${program.name}|${constants.map(([k, v]) => `${k}=${v}`).join(',')}`;
}
