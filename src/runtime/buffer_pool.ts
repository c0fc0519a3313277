// Read buffers lent only while data is in hand. A connection parked waiting
// for data holds none, so 10,000 idle connections cost no read buffers; a
// busy one holds one from the read until its consumer asks for the next chunk.
//
// When every pooled buffer is lent out (many connections busy at once), a
// read goes into one shared scratch buffer and the bytes are copied out into
// a chunk of exactly their size: no 64 KiB buffer is allocated and zeroed
// per read, and memory stays bounded by the free list's cap.

export class BufferPool {
  readonly size: number;
  /** Read target when the free list is empty; used within one synchronous block only. */
  readonly scratch: Uint8Array;
  readonly #free: Uint8Array[] = [];
  readonly #maxFree: number;

  constructor(size: number, maxFree: number) {
    this.size = size;
    this.#maxFree = maxFree;
    this.scratch = new Uint8Array(new ArrayBuffer(size));
  }

  /** A free pooled buffer of `size` bytes (FFI-safe: its own ArrayBuffer), or null. */
  takeFree(): Uint8Array | null {
    return this.#free.pop() ?? null;
  }

  /**
   * Returns a chunk to the pool: a view of a pooled buffer, or a copied-out
   * chunk that happens to be a whole buffer of `size` bytes. Smaller copies
   * are left to the garbage collector.
   */
  give(buf: Uint8Array): void {
    if (this.#free.length >= this.#maxFree || buf.buffer.byteLength !== this.size || buf.buffer === this.scratch.buffer) return;
    const whole = buf.byteOffset === 0 && buf.length === this.size ? buf : new Uint8Array(buf.buffer, 0, this.size);
    this.#free.push(whole);
  }

  /** Returns a whole buffer that takeFree() handed out (no checks needed). */
  giveWhole(buf: Uint8Array): void {
    if (this.#free.length < this.#maxFree) this.#free.push(buf);
  }

  get free(): number {
    return this.#free.length;
  }
}

/** The shared pool for chunk iteration: 64 KiB reads, up to 64 buffers kept. */
export const chunkPool = new BufferPool(64 * 1024, 64);
