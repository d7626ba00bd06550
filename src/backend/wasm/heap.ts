/**
 * The allocator of wasm memory, kept in JavaScript: the kernels never allocate, so one first-fit
 * free list here owns every byte above the module's static data. Blocks are 64-byte aligned (a cache
 * line: vector loads never straddle one at a block's start). Memory grows on demand up to the
 * maximum the backend was created with; a request beyond it fails with E_LIMIT_EXCEEDED.
 */
import { SdsError } from '../../core/errors.js';

const ALIGN = 64;
const PAGE = 65536;
const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

interface FreeBlock {
  start: number;
  bytes: number;
}

export class WasmHeap {
  private readonly free: FreeBlock[] = [];
  private readonly used = new Map<number, number>();
  private top: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
    private readonly maxBytes: number,
  ) {
    this.top = alignUp(Math.max(base, ALIGN), ALIGN);
  }

  get bytesInUse(): number {
    let total = 0;
    for (const b of this.used.values()) total += b;
    return total;
  }

  alloc(requested: number): number {
    const bytes = alignUp(Math.max(requested, 1), ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i];
      if (block.bytes < bytes) continue;
      const start = block.start;
      if (block.bytes === bytes) this.free.splice(i, 1);
      else {
        block.start += bytes;
        block.bytes -= bytes;
      }
      this.used.set(start, bytes);
      return start;
    }
    const start = this.top;
    this.ensure(start + bytes);
    this.top = start + bytes;
    this.used.set(start, bytes);
    return start;
  }

  release(start: number): void {
    const bytes = this.used.get(start);
    if (bytes === undefined) throw new SdsError('E_INVALID_ARGUMENT', `wasm heap: no live block at ${start}`);
    this.used.delete(start);
    // Insert sorted by address and merge with neighbours, so freed space coalesces.
    let i = 0;
    while (i < this.free.length && this.free[i].start < start) i++;
    this.free.splice(i, 0, { start, bytes });
    const next = this.free[i + 1];
    if (next && start + bytes === next.start) {
      this.free[i].bytes += next.bytes;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.bytes === start) {
      prev.bytes += this.free[i].bytes;
      this.free.splice(i, 1);
    }
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.bytes === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }

  private ensure(end: number): void {
    if (end > this.maxBytes) {
      throw new SdsError(
        'E_LIMIT_EXCEEDED',
        `wasm memory: need ${end} bytes, the limit is ${this.maxBytes} (raise maxMemoryBytes or use smaller patches)`,
        { limit: 'maxMemoryBytes', needed: end, available: this.maxBytes },
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
  }
}
