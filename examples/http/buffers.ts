// The byte buffers of examples/http/server.ts: read buffers and response
// batches are borrowed from one pool per server while a request is being read
// or answered, and given back when the connection goes idle, so an idle
// keep-alive connection holds none. The pool counts what is lent out
// (HttpServer.buffers), which is how the tests see that.

/** What a server's connections hold right now. */
export interface BufferStats {
  /** Buffers lent to connections (read buffers and response batches). */
  readonly held: number;
  /** Their total size in bytes. */
  readonly heldBytes: number;
  /** Buffers kept for reuse (each `size` bytes). */
  readonly free: number;
}

/**
 * Fixed-size buffers (each its own ArrayBuffer, so FFI-safe) kept for reuse,
 * and larger ones made on demand and left to the garbage collector when given
 * back. At most `maxFree` free buffers are kept.
 */
export class BufferPool {
  readonly size: number;
  readonly #maxFree: number;
  readonly #free: Uint8Array[] = [];
  #held = 0;
  #heldBytes = 0;

  constructor(size: number, maxFree: number) {
    this.size = size;
    this.#maxFree = maxFree;
  }

  /** A buffer of at least `min` bytes: a pooled one when `min <= size`, else `min` rounded up to a multiple of size. */
  take(min = this.size): Uint8Array {
    const b = min <= this.size ? (this.#free.pop() ?? new Uint8Array(new ArrayBuffer(this.size))) : new Uint8Array(new ArrayBuffer(Math.ceil(min / this.size) * this.size));
    this.#held++;
    this.#heldBytes += b.length;
    return b;
  }

  /** Gives back a buffer take() handed out. */
  give(b: Uint8Array): void {
    this.#held--;
    this.#heldBytes -= b.length;
    if (b.length === this.size && this.#free.length < this.#maxFree) this.#free.push(b);
  }

  /** A buffer of at least `min` bytes holding the first `keep` bytes of b, which is given back. */
  grow(b: Uint8Array, min: number, keep: number): Uint8Array {
    const next = this.take(min);
    next.set(b.subarray(0, keep));
    this.give(b);
    return next;
  }

  get stats(): BufferStats {
    return { held: this.#held, heldBytes: this.#heldBytes, free: this.#free.length };
  }
}
