// libzmq (ZeroMQ's C library) bindings for examples/ffi/zeromq.ts: a context,
// one socket, non-blocking send / recv and the two socket options its event
// loop reads. libzmq.so.5 on Linux (Debian: apt-get install libzmq5),
// libzmq.5.dylib on macOS; LIBZMQ_PATH overrides the name.
//
// Every function used here has a fixed signature (zmq_getsockopt takes
// (void *, int, void *, size_t *), zmq_send / zmq_recv (void *, void *,
// size_t, int)): no variadic calls. size_t is bound as u64 (64-bit targets).
import { dlopen, FFIType } from "bun:ffi";
import { platform } from "bun-netpoll/ffi";

const { i32, u64, ptr: p, cstring } = FFIType;

const LIB = process.env["LIBZMQ_PATH"] ?? (platform.os === "darwin" ? "libzmq.5.dylib" : "libzmq.so.5");

/** The libzmq functions the example calls (zmq.h). */
export const zmq = dlopen(LIB, {
  zmq_version: { args: [p, p, p], returns: FFIType.void },
  zmq_errno: { args: [], returns: i32 },
  zmq_strerror: { args: [i32], returns: cstring },
  zmq_ctx_new: { args: [], returns: p },
  zmq_ctx_term: { args: [p], returns: i32 },
  zmq_socket: { args: [p, i32], returns: p },
  zmq_close: { args: [p], returns: i32 },
  zmq_connect: { args: [p, p], returns: i32 },
  zmq_setsockopt: { args: [p, i32, p, u64], returns: i32 },
  zmq_getsockopt: { args: [p, i32, p, p], returns: i32 },
  zmq_send: { args: [p, p, u64, i32], returns: i32 },
  zmq_recv: { args: [p, p, u64, i32], returns: i32 },
}).symbols;

/** A void* context or socket: libzmq's own memory, freed by zmq_ctx_term / zmq_close. */
export type Handle = NonNullable<ReturnType<typeof zmq.zmq_ctx_new>>;

// Socket types (zmq.h: ZMQ_PAIR 0 … ZMQ_STREAM 11).
export const ZMQ_REQ = 3;
export const ZMQ_REP = 4;
export const ZMQ_DEALER = 5;
export const ZMQ_ROUTER = 6;
// Send / recv flags (zmq.h).
export const ZMQ_DONTWAIT = 1;
export const ZMQ_SNDMORE = 2;
// Socket options (zmq.h). ZMQ_FD is an int on POSIX (a SOCKET on Windows);
// ZMQ_EVENTS and ZMQ_RCVMORE are ints; ZMQ_LINGER an int of ms.
export const ZMQ_RCVMORE = 13;
export const ZMQ_FD = 14;
export const ZMQ_EVENTS = 15;
export const ZMQ_LINGER = 17;
// ZMQ_EVENTS bits (zmq.h, the zmq_poll event flags).
export const ZMQ_POLLIN = 1;
export const ZMQ_POLLOUT = 2;
// libzmq's own errno numbers start at ZMQ_HAUSNUMERO (zmq.h: 156384712).
export const ZMQ_HAUSNUMERO = 156384712;
/** zmq.h: the operation is not valid in the socket's state (a REQ sending twice). */
export const EFSM = ZMQ_HAUSNUMERO + 51;
/** zmq.h: the context was terminated. */
export const ETERM = ZMQ_HAUSNUMERO + 53;

/** A NUL-terminated UTF-8 copy of s, in its own ArrayBuffer. */
export function cstr(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}
