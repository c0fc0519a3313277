// libcurl bindings for examples/ffi/curl.ts: the multi-socket interface and
// the few easy-handle calls it needs. libcurl.so.4 on Linux (Debian:
// apt-get install libcurl4), libcurl.4.dylib on macOS; LIBCURL_PATH
// overrides the name.
//
// curl_easy_setopt, curl_multi_setopt and curl_easy_getinfo are variadic.
// They are bound here with fixed third parameters, one binding per argument
// kind (a pointer or a long), which is how x86_64 System V and AAPCS64 on
// Linux pass a variadic integer or pointer. Apple arm64 passes variadic
// arguments on the stack: there these bindings would be wrong.
import { dlopen, FFIType } from "bun:ffi";
import { platform } from "bun-netpoll/ffi";

const { i32, i64, u64, ptr, cstring } = FFIType;

if (platform.os === "darwin" && platform.arch === "arm64") {
  throw new Error("examples/ffi/_libcurl.ts: the variadic setopt bindings do not fit Apple arm64's calling convention");
}

const LIB = process.env["LIBCURL_PATH"] ?? (platform.os === "darwin" ? "libcurl.4.dylib" : "libcurl.so.4");

/** The libcurl functions the example calls (curl/curl.h, curl/multi.h); the variadic ones with a pointer third argument. */
export const curl = dlopen(LIB, {
  curl_global_init: { args: [i64], returns: i32 },
  curl_easy_init: { args: [], returns: ptr },
  curl_easy_cleanup: { args: [ptr], returns: FFIType.void },
  curl_easy_strerror: { args: [i32], returns: cstring },
  curl_easy_setopt: { args: [ptr, i32, ptr], returns: i32 },
  curl_easy_getinfo: { args: [ptr, i32, ptr], returns: i32 },
  curl_multi_init: { args: [], returns: ptr },
  curl_multi_cleanup: { args: [ptr], returns: i32 },
  curl_multi_add_handle: { args: [ptr, ptr], returns: i32 },
  curl_multi_remove_handle: { args: [ptr, ptr], returns: i32 },
  curl_multi_setopt: { args: [ptr, i32, ptr], returns: i32 },
  curl_multi_socket_action: { args: [ptr, i32, i32, ptr], returns: i32 },
  curl_multi_strerror: { args: [i32], returns: cstring },
  curl_multi_info_read: { args: [ptr, ptr], returns: ptr },
}).symbols;

/** curl_easy_setopt / curl_multi_setopt with a long third argument (a second handle on the same library, so the symbols can have a second signature). */
export const curlLong = dlopen(LIB, {
  curl_easy_setopt: { args: [ptr, i32, i64], returns: i32 },
  curl_multi_setopt: { args: [ptr, i32, i64], returns: i32 },
}).symbols;

/** A CURL* or CURLM*: libcurl's own memory. */
export type Handle = NonNullable<ReturnType<typeof curl.curl_easy_init>>;

/** The write callback's size_t parameters. */
export const SIZE_T = u64;

export const CURL_GLOBAL_DEFAULT = 3;
// CURLoption numbers: CURLOPTTYPE_LONG 0, OBJECTPOINT 10000, FUNCTIONPOINT 20000.
export const CURLOPT_WRITEDATA = 10001;
export const CURLOPT_URL = 10002;
export const CURLOPT_WRITEFUNCTION = 20011;
export const CURLOPT_NOSIGNAL = 99;
export const CURLOPT_TIMEOUT_MS = 155;
// CURLMoption numbers.
export const CURLMOPT_SOCKETFUNCTION = 20001;
export const CURLMOPT_TIMERFUNCTION = 20004;
export const CURLMOPT_MAX_HOST_CONNECTIONS = 7;
// CURLINFO_LONG + 2
export const CURLINFO_RESPONSE_CODE = 0x200002;
// The socket callback's `what`.
export const CURL_POLL_IN = 1;
export const CURL_POLL_OUT = 2;
export const CURL_POLL_INOUT = 3;
export const CURL_POLL_REMOVE = 4;
// curl_multi_socket_action's sockfd / ev_bitmask.
export const CURL_SOCKET_TIMEOUT = -1;
export const CURL_CSELECT_IN = 1;
export const CURL_CSELECT_OUT = 2;
// CURLMsg: { CURLMSG msg; CURL *easy_handle; union { void *; CURLcode result; } data; }
export const CURLMSG_DONE = 1;
export const CURLMSG_OFFSETS = { msg: 0, easy: 8, result: 16 } as const;
