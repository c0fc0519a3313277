// libpq (PostgreSQL's C client library) bindings for examples/ffi/postgres.ts:
// only the asynchronous calls its event loop needs. libpq.so.5 on Linux
// (Debian: apt-get install libpq5), libpq.5.dylib on macOS; LIBPQ_PATH
// overrides the name.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { platform } from "bun-netpoll/ffi";

const { i32, ptr: p, cstring } = FFIType;

const LIB = process.env["LIBPQ_PATH"] ?? (platform.os === "darwin" ? "libpq.5.dylib" : "libpq.so.5");

/** The libpq functions the example calls (libpq-fe.h). */
export const pq = dlopen(LIB, {
  PQconnectStart: { args: [p], returns: p },
  PQconnectPoll: { args: [p], returns: i32 },
  PQstatus: { args: [p], returns: i32 },
  PQsocket: { args: [p], returns: i32 },
  PQerrorMessage: { args: [p], returns: cstring },
  PQsetnonblocking: { args: [p, i32], returns: i32 },
  PQsendQueryParams: { args: [p, p, i32, p, p, p, p, i32], returns: i32 },
  PQflush: { args: [p], returns: i32 },
  PQconsumeInput: { args: [p], returns: i32 },
  PQisBusy: { args: [p], returns: i32 },
  PQgetResult: { args: [p], returns: p },
  PQresultStatus: { args: [p], returns: i32 },
  PQresultErrorMessage: { args: [p], returns: cstring },
  PQntuples: { args: [p], returns: i32 },
  PQnfields: { args: [p], returns: i32 },
  PQgetvalue: { args: [p, i32, i32], returns: cstring },
  PQgetisnull: { args: [p, i32, i32], returns: i32 },
  PQclear: { args: [p], returns: FFIType.void },
  PQfinish: { args: [p], returns: FFIType.void },
}).symbols;

/** A PGconn* or PGresult*: libpq's own memory, freed by PQfinish / PQclear. */
export type Handle = NonNullable<ReturnType<typeof pq.PQconnectStart>>;

// ConnStatusType
export const CONNECTION_OK = 0;
export const CONNECTION_BAD = 1;
// PostgresPollingStatusType
export const PGRES_POLLING_FAILED = 0;
export const PGRES_POLLING_READING = 1;
export const PGRES_POLLING_WRITING = 2;
export const PGRES_POLLING_OK = 3;
// ExecStatusType
export const PGRES_EMPTY_QUERY = 0;
export const PGRES_COMMAND_OK = 1;
export const PGRES_TUPLES_OK = 2;

/** A NUL-terminated UTF-8 copy of s, in its own ArrayBuffer. */
export function cstr(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}

/**
 * A `const char *const *` array of the given C strings. Keep the returned
 * object (it holds the strings) alive until the call that takes it returns;
 * libpq copies parameter values into its output buffer during the call.
 */
export function cstrArray(values: readonly string[]): { array: BigUint64Array | null; keep: Uint8Array[] } {
  if (values.length === 0) return { array: null, keep: [] };
  const keep = values.map(cstr);
  const array = new BigUint64Array(new ArrayBuffer(8 * keep.length));
  keep.forEach((s, i) => (array[i] = BigInt(ptr(s))));
  return { array, keep };
}
