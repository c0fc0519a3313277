// Calling variadic C functions (fcntl) through bun:ffi, whose signatures are
// fixed: the binding must put each argument where the callee's va_arg looks.
// Pure data and arithmetic (no FFI calls), so the argument placement is
// tested for every ABI on any machine.
//
// The rules (integer and pointer arguments only; that is all fcntl takes):
//
// - "as-named": the ABI passes variadic arguments exactly like named ones.
//   x86_64 System V (§3.5.7: variadic arguments use the same register
//   sequence; %al only bounds the vector registers saved, and integer va_arg
//   never reads them) and standard AAPCS64 (Linux and FreeBSD aarch64:
//   variadic arguments are allocated like named ones, x0–x7 then the stack).
//   A fixed (int, int, int) signature is correct there.
// - "apple-arm64": Apple's arm64 ABI ("Writing ARM64 code for Apple
//   platforms": variadic arguments) puts named arguments in x0–x7 but every
//   variadic argument on the stack, each in its own 8-byte slot starting at
//   the stack pointer. A fixed (int, int, int) call leaves the value in x2,
//   where va_arg never looks, so fcntl(fd, F_SETFL, O_NONBLOCK) reads stack
//   garbage. The binding declares nine fixed integer parameters: the two named
//   ones (x0, x1), six fillers (x2–x7), and the value as a 64-bit integer,
//   which as the ninth named argument goes to the first stack slot, 8 bytes
//   at sp+0 (little-endian): exactly where the callee's first va_arg(int) reads.
import { FFIType } from "bun:ffi";

export type VariadicAbi = "as-named" | "apple-arm64";

/** The variadic-argument rule for an OS and process.arch. */
export function variadicAbi(os: string, arch: string): VariadicAbi {
  return os === "darwin" && arch === "arm64" ? "apple-arm64" : "as-named";
}

/** An integer argument type of a binding: 4 or 8 bytes. */
export type IntArg = "i32" | "i64";

/** A binding for `int f(int, int, ...)` called with one variadic int. */
export interface VariadicIntBinding {
  readonly abi: VariadicAbi;
  /** The fixed parameter list given to dlopen. */
  readonly params: readonly IntArg[];
  /** Index of the parameter that carries the variadic value. */
  readonly valueIndex: number;
  /** The argument vector for f(a, b, value), in `params` order. */
  argv(a: number, b: number, value: number): number[];
}

/** Integer registers an arm64 call passes arguments in (x0–x7). */
const ARM64_INT_REGS = 8;
/** Every stack slot in this table is 8 bytes (arguments are 64-bit or promoted). */
const SLOT = 8;

/** A binding for fcntl(fd, cmd, int value), i.e. `int f(int, int, ...)`, for an ABI. */
export function variadicIntBinding(abi: VariadicAbi): VariadicIntBinding {
  if (abi === "as-named") {
    return { abi, params: ["i32", "i32", "i32"], valueIndex: 2, argv: (a, b, v) => [a, b, v] };
  }
  const fillers = ARM64_INT_REGS - 2;
  const params: IntArg[] = ["i32", "i32", ...Array<IntArg>(fillers).fill("i64"), "i64"];
  return {
    abi,
    params,
    valueIndex: ARM64_INT_REGS,
    argv: (a, b, v) => [a, b, ...Array<number>(fillers).fill(0), v],
  };
}

/** bun:ffi types for a parameter list. */
export function ffiParams(params: readonly IntArg[]): FFIType[] {
  return params.map((p) => (p === "i32" ? FFIType.i32 : FFIType.i64));
}

/** Where a call's arguments are: integer registers by number, and the outgoing stack bytes. */
export interface Placement {
  readonly regs: readonly (number | undefined)[];
  readonly stack: Uint8Array;
}

/**
 * Where the caller puts each argument of a call through a fixed (non-
 * variadic) signature on arm64 (Apple and AAPCS64 agree for named integer
 * arguments): the first eight in x0–x7, the rest on the stack in order, each
 * 8-byte argument in an 8-byte slot.
 */
export function placeArm64Named(params: readonly IntArg[], argv: readonly number[]): Placement {
  const regs: (number | undefined)[] = Array(ARM64_INT_REGS).fill(undefined);
  const onStack: { type: IntArg; value: number }[] = [];
  params.forEach((type, i) => {
    if (i < ARM64_INT_REGS) regs[i] = argv[i]!;
    else onStack.push({ type, value: argv[i]! });
  });
  const stack = new Uint8Array(new ArrayBuffer(onStack.length * SLOT));
  const view = new DataView(stack.buffer);
  let at = 0;
  for (const a of onStack) {
    // Apple packs a named 4-byte stack argument into 4 bytes; the bindings
    // here only put 8-byte arguments on the stack (tested), so slots stay 8.
    if (a.type !== "i64") throw new Error("a 4-byte argument on the stack would not fill a variadic slot");
    view.setBigInt64(at, BigInt(a.value), true);
    at += SLOT;
  }
  return { regs, stack };
}

/**
 * What a variadic callee `f(int, int, ...)` reads as its first variadic int
 * under Apple's arm64 rule: the low 4 bytes of the 8-byte slot at sp+0
 * (undefined if the caller put nothing there).
 */
export function appleArm64FirstVariadicInt(p: Placement): number | undefined {
  if (p.stack.length < SLOT) return undefined;
  return new DataView(p.stack.buffer, p.stack.byteOffset).getInt32(0, true);
}
