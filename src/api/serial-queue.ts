import { SdsError } from '../core/errors.js';

/**
 * Runs tasks one at a time in call order (the segmenter's concurrency rule, types.ts). `close()`
 * rejects every task not yet started with E_DISPOSED and resolves when the running one has finished.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly waiting = new Set<(e: Error) => void>();

  constructor(private readonly what: string) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new SdsError('E_DISPOSED', `${this.what}: used after dispose()`));
    const result = new Promise<T>((resolve, reject) => {
      const cancel = (e: Error): void => reject(e);
      this.waiting.add(cancel);
      this.tail = this.tail.then(async () => {
        if (!this.waiting.delete(cancel)) return; // rejected by close()
        try {
          resolve(await task());
        } catch (e) {
          reject(e);
        }
      });
    });
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const cancel of this.waiting) cancel(new SdsError('E_DISPOSED', `${this.what}: disposed before this call started`));
    this.waiting.clear();
    await this.tail;
  }
}
