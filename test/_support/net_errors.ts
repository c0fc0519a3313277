// What a failed socket operation must look like: a kernel error with its
// errno, or an OpError naming the operation, network and address.
import { expect } from "bun:test";
import { E } from "../../ffi/platform.ts";
import { ClosedError, DeadlineExceededError, NetError } from "../../src/index.ts";

/**
 * Asserts err is the kernel's error `code`: a NetError with that errno,
 * neither ClosedError nor DeadlineExceededError, not a timeout and not
 * temporary. Returns it typed, for the checks that follow.
 */
export function expectKernelError(err: unknown, code: string): NetError {
  expect(err).toBeInstanceOf(NetError);
  expect(err).not.toBeInstanceOf(ClosedError);
  expect(err).not.toBeInstanceOf(DeadlineExceededError);
  const e = err as NetError;
  expect(e.code).toBe(code);
  expect(e.errno).toBe(E[code]!);
  expect(e.timeout).toBe(false);
  expect(e.temporary).toBe(false);
  return e;
}

/** The fields an OpError must carry; syscall only for an error from the kernel. */
export interface OpErrorWant {
  op: string;
  net: string;
  address: string;
  code: string;
  syscall?: string;
}

/**
 * An OpError: NetError with non-empty op, net, address and code, matching
 * want. A kernel error (want.syscall given) also carries its cause: the
 * failing syscall and the errno number of `code` (see expectKernelError),
 * named in the message as `(os error N)`. Returns err typed.
 */
export function expectOpError(err: unknown, want: OpErrorWant): NetError {
  expect(err).toBeInstanceOf(NetError);
  const e = err as NetError;
  expect({ op: e.op, net: e.net, address: e.address, code: e.code }).toEqual({
    op: want.op,
    net: want.net,
    address: want.address,
    code: want.code,
  });
  expect(e.op.length).toBeGreaterThan(0);
  expect(e.net.length).toBeGreaterThan(0);
  expect(e.address.length).toBeGreaterThan(0);
  expect(e.code.length).toBeGreaterThan(0);
  expect(e.message).toContain(want.address);
  if (want.syscall !== undefined) {
    expectKernelError(err, want.code);
    expect(e.syscall).toBe(want.syscall);
    expect(e.errno).toBeGreaterThan(0);
    expect(e.message).toContain(want.code);
    expect(e.message).toEndWith(`(os error ${E[want.code]})`);
  }
  return e;
}
