import { SdsError } from '../../core/errors.js';
import { BufferPool } from './buffer-pool.js';
import { type ProgramInfo, fullSource, packUniforms, pipelineKey, uniformBytes } from './program.js';

export interface Dispatch {
  /** Storage buffers bound at @binding(1), (2), ... in this order. */
  readonly buffers: readonly GPUBuffer[];
  /** Values of the program's uniforms, in declaration order. */
  readonly uniforms: readonly number[];
  readonly workgroups: readonly [number, number?, number?];
}

/** A compiled program: its pipeline and the bind group layout every dispatch of it binds. */
interface CompiledProgram {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

/** Each dispatch gets its own 256-byte slice of one uniform ring (minUniformBufferOffsetAlignment). */
const UNIFORM_SLOT_BYTES = 256;
const UNIFORM_SLOTS = 512;

/**
 * Owns the device-side machinery every kernel shares: the pipeline cache, the buffer pool, a uniform
 * ring and the command encoder that collects many dispatches into one compute pass. Nothing is
 * submitted until the ring fills or someone needs results (`flush`, `readBuffer`), so a training step
 * costs a handful of submits and no stalls.
 */
export class WebGpuRuntime {
  readonly pool: BufferPool;
  /** Pipelines by pipelineKey, and the same entries by program object (skips building the key per dispatch). */
  private readonly pipelines = new Map<string, CompiledProgram>();
  private readonly compiled = new WeakMap<ProgramInfo, CompiledProgram>();
  private readonly compileChecks: Promise<void>[] = [];
  private readonly uniformRing: GPUBuffer;
  private readonly uniformStaging = new ArrayBuffer(UNIFORM_SLOT_BYTES * UNIFORM_SLOTS);
  private readonly uniformView = new DataView(this.uniformStaging);
  private uniformSlot = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private deviceError: SdsError | null = null;
  private lost = false;
  dispatchCount = 0;
  submitCount = 0;
  readBackCount = 0;

  constructor(readonly device: GPUDevice) {
    this.pool = new BufferPool(device);
    this.uniformRing = device.createBuffer({
      size: UNIFORM_SLOT_BYTES * UNIFORM_SLOTS,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'sds-uniform-ring',
    });
    device.addEventListener('uncapturederror', (event) => {
      if (this.lost) return; // calls on a lost device fail validation too; the loss is the error to report
      const error = (event as GPUUncapturedErrorEvent).error;
      this.deviceError ??= new SdsError('E_SHADER_COMPILE', `WebGPU reported an error: ${error.message}`);
    });
    void device.lost.then((info) => {
      this.lost = true;
      // replaces any error raised on the way down: whatever failed after the loss failed because of it
      this.deviceError = new SdsError(
        'E_DEVICE_LOST',
        `the GPU device was lost (${info.reason}): ${info.message || 'no message'}. Work since the last checkpoint is gone; ` +
          `checkpoints are backend-independent: resume the last one with createBackend('wasm') (trainSds({ resume })) to go on without the GPU`,
        { reason: info.reason },
      );
    });
  }

  get isLost(): boolean {
    return this.lost;
  }

  private pipeline(program: ProgramInfo): CompiledProgram {
    const known = this.compiled.get(program);
    if (known) return known;
    const key = pipelineKey(program);
    let entry = this.pipelines.get(key);
    if (!entry) {
      entry = this.createPipeline(program, key);
      this.pipelines.set(key, entry);
    }
    this.compiled.set(program, entry);
    return entry;
  }

  private createPipeline(program: ProgramInfo, key: string): CompiledProgram {
    const code = fullSource(program);
    if (typeof process !== 'undefined' && process.env?.SDS_DEBUG_WGSL) console.log(`// ---- ${key}\n${code}`);
    const module = this.device.createShaderModule({ code, label: program.name });
    this.compileChecks.push(
      module.getCompilationInfo().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length > 0) {
          const text = errors.map((m) => `line ${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
          throw new SdsError('E_SHADER_COMPILE', `shader '${program.name}' failed to compile:\n${text}\n--- source ---\n${code}`);
        }
      }),
    );
    const pipeline = this.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: program.constants ? { ...program.constants } : undefined },
      label: key,
    });
    return { pipeline, layout: pipeline.getBindGroupLayout(0) };
  }

  private currentPass(): GPUComputePassEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'sds-step' });
    this.pass ??= this.encoder.beginComputePass();
    return this.pass;
  }

  /** Records one dispatch; nothing runs until the next submit. */
  run(program: ProgramInfo, dispatch: Dispatch): void {
    if (this.lost) throw this.deviceError!;
    if (this.uniformSlot === UNIFORM_SLOTS) this.submit();
    const compiled = this.pipeline(program);
    const offset = this.uniformSlot * UNIFORM_SLOT_BYTES;
    // Staged only: submit() uploads all slots used since the last submit in one writeBuffer.
    packUniforms(program.uniforms, dispatch.uniforms, this.uniformView, offset);
    this.uniformSlot++;
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.uniformRing, offset, size: uniformBytes(program.uniforms) } },
    ];
    dispatch.buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
    const bindGroup = this.device.createBindGroup({ layout: compiled.layout, entries, label: program.name });
    const pass = this.currentPass();
    pass.setPipeline(compiled.pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = dispatch.workgroups;
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  /** Records a buffer copy (ends the current compute pass; the next dispatch opens a new one). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (this.lost) throw this.deviceError!;
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'sds-step' });
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Records zero-filling a whole buffer. */
  clear(buffer: GPUBuffer): void {
    if (this.lost) throw this.deviceError!;
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'sds-step' });
    this.encoder.clearBuffer(buffer);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits recorded work without waiting for it. */
  submit(): void {
    this.endPass();
    if (this.uniformSlot > 0) {
      // Queue order puts this write after the previous submit (which read the old slot values) and
      // before this one: one upload per submit instead of one per dispatch.
      this.device.queue.writeBuffer(this.uniformRing, 0, this.uniformStaging, 0, this.uniformSlot * UNIFORM_SLOT_BYTES);
    }
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.submitCount++;
    }
    this.uniformSlot = 0;
  }

  private async checkErrors(): Promise<void> {
    if (this.compileChecks.length > 0) await Promise.all(this.compileChecks.splice(0));
    if (this.deviceError) throw this.deviceError;
  }

  /** Submits and waits until the GPU has finished everything recorded so far. */
  async flush(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /** Copies `bytes` of `buffer` back to the CPU after all work recorded so far. */
  async readBuffer(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'sds-readback' });
    this.copy(buffer, 0, staging, 0, size);
    this.submit();
    this.readBackCount++;
    try {
      await staging.mapAsync(GPUMapMode.READ);
      await this.checkErrors();
      return staging.getMappedRange().slice(0, bytes);
    } catch (err) {
      // mapAsync on a lost device rejects before the lost promise's handler has run: give it a moment
      // so the caller sees E_DEVICE_LOST rather than the bare AbortError
      await Promise.race([this.device.lost, new Promise((resolve) => setTimeout(resolve, 200))]);
      await this.checkErrors();
      throw err;
    } finally {
      if (staging.mapState === 'mapped') staging.unmap();
      staging.destroy();
    }
  }

  destroy(): void {
    this.encoder = null;
    this.pass = null;
    this.pool.destroy();
    this.uniformRing.destroy();
    this.pipelines.clear();
  }
}

/**
 * Workgroup grid for `invocations` threads in workgroups of `size`: folds counts above the
 * per-dimension limit (65,535) into y. Shaders recover the linear index as
 * `gid.x + gid.y * (num_workgroups.x * WG)` and return when it is out of range.
 */
export function grid1d(invocations: number, size: number, maxPerDim = 65535): [number, number, number] {
  const groups = Math.ceil(invocations / size);
  if (groups <= maxPerDim) return [groups, 1, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y, 1];
}
