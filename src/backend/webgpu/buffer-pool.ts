/**
 * Storage buffers recycled by size class. Reuse is safe without waiting for the GPU: WebGPU executes
 * work in submission order, so a buffer freed after its last use and handed to a new tensor is only
 * written by dispatches that come after every earlier reader. Sizes round up to a class (multiples of
 * 256 bytes, then to 1/8 steps of the next power of two) so patch-sized tensors of one training step
 * find each other again and the pool stops growing after the first iteration.
 */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private liveBytes = 0;
  private pooledBytes = 0;
  private peak = 0;
  private created = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Bytes kept idle in the pool at most; beyond it, freed buffers are destroyed. */
    private readonly maxPooledBytes = 1 << 30,
  ) {}

  static sizeClass(bytes: number): number {
    const min = Math.max(256, Math.ceil(bytes / 256) * 256);
    if (min <= 1 << 16) return min;
    const step = 2 ** Math.floor(Math.log2(min)) / 8;
    return Math.ceil(min / step) * step;
  }

  acquire(bytes: number, label: string): GPUBuffer {
    const size = BufferPool.sizeClass(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) {
      this.pooledBytes -= size;
    } else {
      buffer = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        label,
      });
      this.created++;
    }
    this.liveBytes += size;
    this.peak = Math.max(this.peak, this.liveBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.liveBytes -= size;
    if (this.pooledBytes + size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    const list = this.free.get(size) ?? [];
    list.push(buffer);
    this.free.set(size, list);
    this.pooledBytes += size;
  }

  stats(): { liveBytes: number; pooledBytes: number; peakLiveBytes: number; buffersCreated: number } {
    return { liveBytes: this.liveBytes, pooledBytes: this.pooledBytes, peakLiveBytes: this.peak, buffersCreated: this.created };
  }

  resetPeak(): void {
    this.peak = this.liveBytes;
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }
}
