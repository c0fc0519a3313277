// Errors: few, stable, matched by class (Go: net.OpError, ErrNetClosing,
// os.ErrDeadlineExceeded). Every error names the operation, the network and
// the address; system errors carry the errno name and number.
import { platform } from "../ffi/platform.ts";

/** Where an operation happened: `net` is tcp, tcp6, unix, udp, udp6 or fd. */
export interface ErrorContext {
  readonly net: string;
  readonly address: string;
  readonly port?: number | undefined;
}

export interface NetErrorInit extends ErrorContext {
  readonly op: string;
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly cause?: unknown;
}

/** A failed network operation. `code` is the errno name (`ECONNRESET`, …). */
export class NetError extends Error {
  override name = "NetError";
  /** errno name, e.g. `ECONNREFUSED`; `ERR_NET_CLOSED` / `ETIMEDOUT` for the two runtime errors. */
  readonly code: string;
  /** errno number (0 when the error did not come from the kernel). */
  readonly errno: number;
  /** The system call that failed, or "" when none did. */
  readonly syscall: string;
  /** The operation the caller asked for: read, write, dial, listen, accept, close, … */
  readonly op: string;
  /** tcp, tcp6, unix, udp, udp6, or fd (pollFd). */
  readonly net: string;
  /** The address involved: host:port, a unix path, or `fd N`. */
  readonly address: string;
  /** The port involved, when there is one. */
  readonly port: number | undefined;
  /** Bytes a failed write moved before it failed (0 for other operations). */
  bytesWritten = 0;

  constructor(init: NetErrorInit, detail?: string) {
    const where = init.address ? `${init.op} ${init.net} ${init.address}` : `${init.op} ${init.net}`;
    super(`${where}: ${detail ?? describeErrno(init.errno)}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.errno = init.errno;
    this.syscall = init.syscall;
    this.op = init.op;
    this.net = init.net;
    this.address = init.address;
    this.port = init.port;
  }

  /** True for deadline errors only. */
  get timeout(): boolean {
    return false;
  }

  /** Never true: no error here is worth retrying blindly. */
  get temporary(): boolean {
    return false;
  }
}

/** The operation used a connection, listener or fd that was closed. */
export class ClosedError extends NetError {
  override name = "ClosedError";
  constructor(op: string, ctx: ErrorContext) {
    super({ ...contextFields(ctx), op, code: "ERR_NET_CLOSED", errno: 0, syscall: "" }, "use of closed network connection");
  }
}

/** A deadline (or connect timeout) passed before the operation completed. */
export class DeadlineExceededError extends NetError {
  override name = "DeadlineExceededError";
  constructor(op: string, ctx: ErrorContext) {
    super({ ...contextFields(ctx), op, code: "ETIMEDOUT", errno: 0, syscall: "" }, "i/o timeout");
  }
  override get timeout(): boolean {
    return true;
  }
}

/** Bad input caught before any system call (address, port, options), or a host name that did not resolve (`cause`: the resolver's error). */
export class AddrError extends NetError {
  override name = "AddrError";
  constructor(op: string, ctx: ErrorContext, detail: string, code = "EINVAL", cause?: unknown) {
    super({ ...contextFields(ctx), op, code, errno: platform.errno.number(code) ?? 0, syscall: "", cause }, detail);
  }
}

/** "Connection refused (os error 111)", with the errno name in front. */
export function describeErrno(errno: number): string {
  return `${platform.errno.name(errno)}: ${platform.errno.message(errno)} (os error ${errno})`;
}

/**
 * The context's fields as own properties (a context may compute its address
 * on demand, with getters a spread would miss).
 */
export function contextFields(ctx: ErrorContext): ErrorContext {
  return { net: ctx.net, address: ctx.address, port: ctx.port };
}

/** A NetError for a failed system call. */
export function sysError(op: string, syscall: string, errno: number, ctx: ErrorContext): NetError {
  return new NetError({ ...contextFields(ctx), op, syscall, errno, code: platform.errno.name(errno) });
}
