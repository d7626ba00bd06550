/**
 * The allocator of wasm memory, kept in JavaScript: the kernels never allocate, so this heap owns
 * every byte above the module's static data. Blocks are 64-byte aligned (a cache line: vector loads
 * never straddle one at a block's start). Memory grows on demand up to the maximum the backend was
 * created with; a request beyond it fails with E_LIMIT_EXCEEDED.
 *
 * A freed block is first kept for a later request of exactly its size (the WebGPU buffer pool's rule):
 * a training step repeats the same sizes in the same order, so once every size has had its most live
 * blocks at once (the first step or two), each request finds a block and memory stops growing. A
 * coalescing first-fit allocator alone drifts instead: a parameter's new gradient lands in a different
 * hole each step and the holes shift, so memory creeps up step after step. Kept blocks are merged
 * into a first-fit free list only when growing would pass the limit or double the bytes in use, so
 * workloads whose sizes change still reuse memory across sizes.
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
  /** Merged free space, sorted by address, for first-fit. */
  private readonly free: FreeBlock[] = [];
  /** Freed blocks by exact size, for a later request of that size. */
  private kept = new Map<number, number[]>();
  private keptBytes = 0;
  private readonly used = new Map<number, number>();
  private usedBytes = 0;
  private top: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
    private readonly maxBytes: number,
  ) {
    this.top = alignUp(Math.max(base, ALIGN), ALIGN);
  }

  get bytesInUse(): number {
    return this.usedBytes;
  }

  alloc(requested: number): number {
    const bytes = alignUp(Math.max(requested, 1), ALIGN);
    const start = this.takeKept(bytes) ?? this.takeFree(bytes) ?? this.mergeAndTake(bytes) ?? this.grow(bytes);
    this.used.set(start, bytes);
    this.usedBytes += bytes;
    return start;
  }

  release(start: number): void {
    const bytes = this.used.get(start);
    if (bytes === undefined) throw new SdsError('E_INVALID_ARGUMENT', `wasm heap: no live block at ${start}`);
    this.used.delete(start);
    this.usedBytes -= bytes;
    const same = this.kept.get(bytes);
    if (same) same.push(start);
    else this.kept.set(bytes, [start]);
    this.keptBytes += bytes;
  }

  /** The lowest kept block of exactly `bytes`, if any. */
  private takeKept(bytes: number): number | null {
    const same = this.kept.get(bytes);
    if (!same) return null;
    let lowest = 0;
    for (let i = 1; i < same.length; i++) if (same[i] < same[lowest]) lowest = i;
    const start = same[lowest];
    same[lowest] = same[same.length - 1];
    same.pop();
    if (same.length === 0) this.kept.delete(bytes);
    this.keptBytes -= bytes;
    return start;
  }

  private takeFree(bytes: number): number | null {
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i];
      if (block.bytes < bytes) continue;
      const start = block.start;
      if (block.bytes === bytes) this.free.splice(i, 1);
      else {
        block.start += bytes;
        block.bytes -= bytes;
      }
      return start;
    }
    return null;
  }

  /** Before growing past the limit or to over twice the bytes in use: merge the kept blocks and retry. */
  private mergeAndTake(bytes: number): number | null {
    const end = this.top + bytes;
    if (this.keptBytes === 0 || (end <= this.maxBytes && end <= 2 * (this.usedBytes + bytes))) return null;
    const kept = this.kept;
    this.kept = new Map();
    this.keptBytes = 0;
    for (const [size, starts] of kept) for (const start of starts) this.merge(start, size);
    return this.takeFree(bytes);
  }

  /** Inserts a block into the free list, merging it with its neighbours and with the top. */
  private merge(start: number, bytes: number): void {
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

  private grow(bytes: number): number {
    const start = this.top;
    this.ensure(start + bytes);
    this.top = start + bytes;
    return start;
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
