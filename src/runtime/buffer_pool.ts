// Read buffers lent only while data is in hand. A connection parked waiting
// for data holds none, so 10,000 idle connections cost no read buffers; a
// busy one holds one from the read until its consumer asks for the next chunk.
//
// The pool makes buffers as reads need them, up to `max` in all; they come
// back to the free list and are lent again, so a busy server allocates and
// zeroes each one once. When all `max` are lent out (more connections busy at
// once than that), a read goes into one shared scratch buffer and the bytes
// are copied out into a chunk of exactly their size: memory stays bounded,
// and no 64 KiB buffer is allocated per read.

export class BufferPool {
  readonly size: number;
  /** Read target when no pooled buffer can be lent; used within one synchronous block only. */
  readonly scratch: Uint8Array;
  readonly #free: Uint8Array[] = [];
  readonly #max: number;
  /** Buffers this pool has allocated (lent or free). */
  #made = 0;

  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
    this.scratch = new Uint8Array(new ArrayBuffer(size));
  }

  /**
   * A pooled buffer of `size` bytes (FFI-safe: its own ArrayBuffer): a free
   * one, or a new one while fewer than `max` exist; null when all are lent.
   */
  takeFree(): Uint8Array | null {
    const b = this.#free.pop();
    if (b !== undefined) return b;
    if (this.#made >= this.#max) return null;
    this.#made++;
    return new Uint8Array(new ArrayBuffer(this.size));
  }

  /**
   * Returns a chunk to the pool: a view of a pooled buffer, or a copied-out
   * chunk that happens to be a whole buffer of `size` bytes. Smaller copies
   * are left to the garbage collector.
   */
  give(buf: Uint8Array): void {
    if (this.#free.length >= this.#max || buf.buffer.byteLength !== this.size || buf.buffer === this.scratch.buffer) return;
    const whole = buf.byteOffset === 0 && buf.length === this.size ? buf : new Uint8Array(buf.buffer, 0, this.size);
    this.#free.push(whole);
  }

  /** Returns a whole buffer that takeFree() handed out (no checks needed). */
  giveWhole(buf: Uint8Array): void {
    if (this.#free.length < this.#max) this.#free.push(buf);
  }

  get free(): number {
    return this.#free.length;
  }

  /** Buffers allocated so far (at most `max`). */
  get made(): number {
    return this.#made;
  }
}

/** The shared pool for chunk iteration: 64 KiB reads, up to 64 buffers (4 MiB). */
export const chunkPool = new BufferPool(64 * 1024, 64);
