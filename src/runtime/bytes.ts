// Argument checks for every read/write/send/receive path, run before any
// lock or reference is taken, so a bad value can only reject the one call.
//
// Buffers: any ArrayBufferView, by its bytes (byteOffset, byteLength): a
// Uint16Array(3) is 6 bytes, a DataView its window. A bare ArrayBuffer (or
// SharedArrayBuffer) is not accepted: wrap it in a Uint8Array to say which
// bytes are meant. Anything else is a TypeError naming the argument.

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return "a string";
  if (typeof v !== "object") return typeof v;
  if (v instanceof ArrayBuffer) return "an ArrayBuffer";
  if (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer) return "a SharedArrayBuffer";
  if (Array.isArray(v)) return "an array";
  return v.constructor?.name ?? "an object";
}

function notBytes(op: string, name: string, v: unknown): TypeError {
  const hint = v instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && v instanceof SharedArrayBuffer) ? " (wrap it: new Uint8Array(buffer))" : "";
  return new TypeError(`${op}: ${name} must be a Uint8Array or another ArrayBufferView, got ${describe(v)}${hint}`);
}

/** The bytes of a buffer argument as a Uint8Array (the same one when it is already). Throws TypeError. */
export function bytesArg(op: string, name: string, v: unknown): Uint8Array {
  const b = asBytes(v);
  if (b === null) throw notBytes(op, name, v);
  return b;
}

/** The bytes of an ArrayBufferView (the same Uint8Array when it is one), or null for anything else. */
function asBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  return ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : null;
}

/** An array of buffer arguments as Uint8Arrays (the same array when nothing needed converting). Throws TypeError. */
export function bytesListArg(op: string, name: string, v: unknown): readonly Uint8Array[] {
  if (!Array.isArray(v)) throw new TypeError(`${op}: ${name} must be an array of ArrayBufferViews, got ${describe(v)}`);
  let out: Uint8Array[] | null = null;
  for (let i = 0; i < v.length; i++) {
    const b: unknown = v[i];
    if (b instanceof Uint8Array) {
      if (out !== null) out.push(b);
      continue;
    }
    const bytes = bytesArg(op, `${name}[${i}]`, b);
    out ??= (v as Uint8Array[]).slice(0, i);
    out.push(bytes);
  }
  return out ?? (v as Uint8Array[]);
}

/** An optional AbortSignal argument. Throws TypeError. */
export function signalArg(op: string, v: unknown): AbortSignal | undefined {
  if (v === undefined || v instanceof AbortSignal) return v;
  throw notSignal(op, v);
}

function notSignal(op: string, v: unknown): TypeError {
  return new TypeError(`${op}: signal must be an AbortSignal, got ${describe(v)}`);
}

/**
 * The buffer and signal arguments of a method that rejects rather than
 * throws: the buffer's bytes, or the TypeError to reject with (the buffer's
 * first, as bytesArg then signalArg would throw).
 */
export function ioArgs(op: string, buf: unknown, signal: unknown): Uint8Array | TypeError {
  const b = asBytes(buf);
  if (b === null) return notBytes(op, "buf", buf);
  return signal === undefined || signal instanceof AbortSignal ? b : notSignal(op, signal);
}
