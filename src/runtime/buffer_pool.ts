// Read buffers lent only while data is in hand. A connection parked waiting
// for data holds none, so 10,000 idle connections cost no read buffers; a
// busy one holds one from the read until its consumer asks for the next chunk.
//
// The pool makes buffers as reads need them, up to `max` in all; they come
// back to the free list and are lent again, so a busy server allocates and
// zeroes each one once per busy spell. When all `max` are lent out (more
// connections busy at once than that), a read goes into one shared scratch
// buffer and the bytes are copied out into a chunk of exactly their size:
// memory stays bounded, and no 64 KiB buffer is allocated per read.
//
// Free buffers that no read needed for a whole period (TRIM_MS) are let go,
// oldest first: a burst of activity leaves no pool behind once the server
// has gone quiet, and a steady load keeps what it uses. The trim timer is
// unref'd and runs only while free buffers exist.

/** The trim period: free buffers unused for a whole period are dropped (so within 2 periods of quiet). */
const TRIM_MS = 250;

export class BufferPool {
  readonly size: number;
  /** Read target when no pooled buffer can be lent; used within one synchronous block only. */
  readonly scratch: Uint8Array;
  readonly #free: Uint8Array[] = [];
  readonly #max: number;
  /** Buffers this pool has allocated (lent or free), and not dropped. */
  #made = 0;
  /** The fewest free buffers since the last trim: that many were not needed. */
  #lowWater = 0;
  #trimTimer: ReturnType<typeof setTimeout> | null = null;
  /** The backing stores of the buffers this pool made (give() takes back only those). */
  readonly #mine = new WeakSet<ArrayBufferLike>();

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
    if (b !== undefined) {
      if (this.#free.length < this.#lowWater) this.#lowWater = this.#free.length;
      return b;
    }
    if (this.#made >= this.#max) return null;
    this.#made++;
    const made = new Uint8Array(new ArrayBuffer(this.size));
    this.#mine.add(made.buffer);
    return made;
  }

  /**
   * Returns a chunk to the pool: any view of a buffer it lent. Anything
   * else (a copied-out chunk, a view of scratch) is left to the garbage
   * collector.
   */
  give(buf: Uint8Array): void {
    if (this.#free.length >= this.#max || !this.#mine.has(buf.buffer)) return;
    const whole = buf.byteOffset === 0 && buf.length === this.size ? buf : new Uint8Array(buf.buffer, 0, this.size);
    this.#push(whole);
  }

  /** Returns a whole buffer that takeFree() handed out (no checks needed). */
  giveWhole(buf: Uint8Array): void {
    if (this.#free.length < this.#max) this.#push(buf);
  }

  #push(buf: Uint8Array): void {
    this.#free.push(buf);
    if (this.#trimTimer === null) this.#startPeriod();
  }

  /** A trim period starts: every buffer free now counts as unused until a read takes it. */
  #startPeriod(): void {
    this.#lowWater = this.#free.length;
    this.#trimTimer = setTimeout(this.#trim, TRIM_MS);
    this.#trimTimer.unref();
  }

  /** The period ends: drops what it did not use; the next starts while free buffers remain. */
  #trim = (): void => {
    this.trimNow();
    this.#trimTimer = null;
    if (this.#free.length > 0) this.#startPeriod();
  };

  /** @internal One trim period ends now (the timer's work; tests call it): drops the oldest unused free buffers. */
  trimNow(): void {
    const unused = Math.min(this.#lowWater, this.#free.length);
    if (unused > 0) {
      for (const b of this.#free.splice(0, unused)) this.#mine.delete(b.buffer);
      this.#made -= unused;
    }
    this.#lowWater = this.#free.length;
  }

  get free(): number {
    return this.#free.length;
  }

  /** Buffers made and not yet dropped (lent or free; at most `max`). */
  get made(): number {
    return this.#made;
  }
}

/** The shared pool for chunk iteration: 64 KiB reads, up to 64 buffers (4 MiB). */
export const chunkPool = new BufferPool(64 * 1024, 64);
