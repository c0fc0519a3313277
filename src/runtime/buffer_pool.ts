// Read buffers lent only while data is in hand. A connection parked waiting
// for data holds none, so 10,000 idle connections cost no read buffers; a
// busy one holds one from the read until its consumer asks for the next chunk.

export class BufferPool {
  readonly size: number;
  readonly #free: Uint8Array[] = [];
  readonly #maxFree: number;

  constructor(size: number, maxFree: number) {
    this.size = size;
    this.#maxFree = maxFree;
  }

  /** A buffer of `size` bytes (FFI-safe: its own ArrayBuffer). */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(new ArrayBuffer(this.size));
  }

  /** Returns a buffer (or any view of it) to the pool. */
  give(buf: Uint8Array): void {
    if (this.#free.length >= this.#maxFree) return;
    const whole = buf.byteOffset === 0 && buf.length === this.size ? buf : new Uint8Array(buf.buffer, 0, this.size);
    this.#free.push(whole);
  }

  get free(): number {
    return this.#free.length;
  }
}

/** The shared pool for chunk iteration: 64 KiB reads, up to 32 kept. */
export const chunkPool = new BufferPool(64 * 1024, 32);
