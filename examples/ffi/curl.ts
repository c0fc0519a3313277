// curl: libcurl's multi-socket interface through bun:ffi, on pollFd level mode.
//
// libcurl owns its sockets. It tells the program which socket to watch for
// what through CURLMOPT_SOCKETFUNCTION, and when to call it back through
// CURLMOPT_TIMERFUNCTION; both are JSCallbacks, and libcurl calls them on
// this thread from inside curl_multi_socket_action. The program keeps one
// level-mode PollFd per socket and a task per wanted direction:
//
//   socket callback   IN / OUT / INOUT: make sure the PollFd exists and a
//                     task waits for each wanted direction (stop the others);
//                     REMOVE: stop the tasks, close the PollFd (libcurl
//                     closes the socket itself).
//   timer callback    -1: cancel the timer; otherwise a timer that calls
//                     curl_multi_socket_action(CURL_SOCKET_TIMEOUT).
//   a waiting task    when its direction is ready: curl_multi_socket_action
//                     (fd, CURL_CSELECT_IN / OUT), then wait again.
//   after each action curl_multi_info_read: finished transfers settle.
//
// Level mode because libcurl does not promise to read (or write) until
// EAGAIN in each call: a level wait resolves again while data is left, and
// costs one poll(2) when there is none.
// Callbacks only record what to watch; nothing calls back into libcurl from
// inside a callback.
//
// Try it:
//   bun examples/ffi/curl.ts https://example.com/ http://127.0.0.1:8080/
// prints `<status> <bytes> <url>` per URL as each finishes (all at once).
import { FFIType, JSCallback, read, toArrayBuffer } from "bun:ffi";
import { type PollFd, pollFd } from "bun-netpoll";
import {
  CURL_CSELECT_IN,
  CURL_CSELECT_OUT,
  CURL_GLOBAL_DEFAULT,
  CURL_POLL_IN,
  CURL_POLL_INOUT,
  CURL_POLL_OUT,
  CURL_POLL_REMOVE,
  CURL_SOCKET_TIMEOUT,
  curl,
  CURLINFO_RESPONSE_CODE,
  curlLong,
  CURLMOPT_MAX_HOST_CONNECTIONS,
  CURLMOPT_SOCKETFUNCTION,
  CURLMOPT_TIMERFUNCTION,
  CURLMSG_DONE,
  CURLMSG_OFFSETS,
  CURLOPT_NOSIGNAL,
  CURLOPT_TIMEOUT_MS,
  CURLOPT_URL,
  CURLOPT_WRITEDATA,
  CURLOPT_WRITEFUNCTION,
  type Handle,
  SIZE_T,
} from "./_libcurl.ts";

/** A failed transfer: libcurl's CURLcode and its message. */
export class CurlError extends Error {
  override name = "CurlError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A finished transfer. */
export interface CurlResponse {
  readonly url: string;
  /** The HTTP status. */
  readonly status: number;
  readonly body: Uint8Array;
}

interface Transfer {
  readonly id: number;
  readonly url: string;
  readonly easy: Handle;
  /** Keeps the URL string alive while libcurl may read it. */
  readonly urlBytes: Uint8Array;
  readonly chunks: Uint8Array[];
  readonly done: PromiseWithResolvers<CurlResponse>;
}

interface Watch {
  readonly fd: number;
  readonly poll: PollFd;
  /** The running wait task of each direction, stopped through its controller. */
  r: AbortController | null;
  w: AbortController | null;
}

let globalInit = false;

/** Many concurrent transfers on one libcurl multi handle, driven by the netpoller. */
export class CurlMulti {
  #multi: Handle | null;
  readonly #running = new Int32Array(new ArrayBuffer(4));
  readonly #queued = new Int32Array(new ArrayBuffer(4));
  readonly #code = new BigInt64Array(new ArrayBuffer(8));
  readonly #byId = new Map<number, Transfer>();
  readonly #byEasy = new Map<Handle, Transfer>();
  readonly #watches = new Map<number, Watch>();
  #timer: ReturnType<typeof setTimeout> | null = null;
  #nextId = 1;
  /** An error thrown where no caller waits (a failed socket action): fails every transfer. */
  #broken: Error | null = null;

  // int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
  readonly #socketCb = new JSCallback((_easy: unknown, fd: number, what: number) => this.#onSocket(fd, what), {
    args: [FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  });
  // int timer_cb(CURLM *multi, long timeout_ms, void *userp)
  readonly #timerCb = new JSCallback((_multi: unknown, ms: number) => this.#onTimer(ms), {
    args: [FFIType.ptr, FFIType.i64_fast, FFIType.ptr],
    returns: FFIType.i32,
  });
  // size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata): userdata is the transfer's id.
  readonly #writeCb = new JSCallback((data: number, size: number, nmemb: number, id: number) => this.#onWrite(data, size * nmemb, id), {
    args: [FFIType.ptr, FFIType.u64_fast, FFIType.u64_fast, FFIType.ptr],
    returns: SIZE_T,
  });

  /**
   * Throws CurlError if libcurl cannot start. `maxHostConnections` caps the
   * connections to one host at once (CURLMOPT_MAX_HOST_CONNECTIONS; 0, the
   * default, means no cap): transfers over it wait in libcurl's queue.
   */
  constructor(opts: { maxHostConnections?: number } = {}) {
    if (!globalInit) {
      const rc = curl.curl_global_init(CURL_GLOBAL_DEFAULT);
      if (rc !== 0) throw new CurlError(rc, `curl_global_init: ${curl.curl_easy_strerror(rc)}`);
      globalInit = true;
    }
    const multi = curl.curl_multi_init();
    if (multi === null) throw new CurlError(-1, "curl_multi_init failed");
    this.#multi = multi;
    curl.curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, this.#socketCb.ptr);
    curl.curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, this.#timerCb.ptr);
    if (opts.maxHostConnections !== undefined) curlLong.curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, opts.maxHostConnections);
  }

  /** GETs url; resolves the status and body, rejects with CurlError (libcurl's code and message). */
  get(url: string, opts: { timeoutMs?: number } = {}): Promise<CurlResponse> {
    const multi = this.#multi;
    if (multi === null) return Promise.reject(new CurlError(-1, "get on a closed CurlMulti"));
    if (this.#broken !== null) return Promise.reject(this.#broken);
    const easy = curl.curl_easy_init();
    if (easy === null) return Promise.reject(new CurlError(-1, "curl_easy_init failed"));
    const id = this.#nextId++;
    const urlBytes = new TextEncoder().encode(`${url}\0`);
    const t: Transfer = { id, url, easy, urlBytes, chunks: [], done: Promise.withResolvers() };
    curl.curl_easy_setopt(easy, CURLOPT_URL, urlBytes);
    curl.curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, this.#writeCb.ptr);
    curlLong.curl_easy_setopt(easy, CURLOPT_WRITEDATA, id);
    curlLong.curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1);
    if (opts.timeoutMs !== undefined) curlLong.curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, opts.timeoutMs);
    this.#byId.set(id, t);
    this.#byEasy.set(easy, t);
    const rc = curl.curl_multi_add_handle(multi, easy);
    if (rc !== 0) {
      this.#byId.delete(id);
      this.#byEasy.delete(easy);
      curl.curl_easy_cleanup(easy);
      return Promise.reject(new CurlError(rc, `curl_multi_add_handle: ${curl.curl_multi_strerror(rc)}`));
    }
    // Adding a handle calls the timer callback: the transfer starts from there.
    return t.done.promise;
  }

  /** Transfers not finished yet. */
  get pending(): number {
    return this.#byId.size;
  }

  /** Abandons unfinished transfers (they reject), stops every watch and frees the multi handle. Idempotent. */
  close(): void {
    const multi = this.#multi;
    if (multi === null) return;
    for (const t of [...this.#byId.values()]) this.#finish(t, new CurlError(-1, `${t.url}: abandoned by close()`));
    this.#clearTimer();
    curl.curl_multi_cleanup(multi);
    this.#multi = null;
    // Cleanup may still have reported sockets removed; stop whatever is left.
    for (const fd of [...this.#watches.keys()]) this.#unwatch(fd);
    this.#socketCb.close();
    this.#timerCb.close();
    this.#writeCb.close();
  }

  // ---- callbacks: called by libcurl inside curl_multi_socket_action -------

  #onSocket(fd: number, what: number): number {
    if (what === CURL_POLL_REMOVE) {
      this.#unwatch(fd);
      return 0;
    }
    let w = this.#watches.get(fd);
    if (w === undefined) {
      w = { fd, poll: pollFd(fd, { mode: "level" }), r: null, w: null };
      this.#watches.set(fd, w);
    }
    const wantR = what === CURL_POLL_IN || what === CURL_POLL_INOUT;
    const wantW = what === CURL_POLL_OUT || what === CURL_POLL_INOUT;
    if (wantR && w.r === null) w.r = this.#pump(w, "r");
    if (!wantR && w.r !== null) {
      w.r.abort();
      w.r = null;
    }
    if (wantW && w.w === null) w.w = this.#pump(w, "w");
    if (!wantW && w.w !== null) {
      w.w.abort();
      w.w = null;
    }
    return 0;
  }

  #onTimer(ms: number): number {
    this.#clearTimer();
    if (ms >= 0) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#action(CURL_SOCKET_TIMEOUT, 0);
      }, ms);
    }
    return 0;
  }

  #onWrite(data: number, n: number, id: number): number {
    const t = this.#byId.get(id);
    if (t === undefined) return 0; // makes libcurl fail the transfer
    if (n > 0) t.chunks.push(new Uint8Array(toArrayBuffer(data as never, 0, n)).slice());
    return n;
  }

  // ---- the loop side --------------------------------------------------------

  /** Starts the task that waits for direction d of w and tells libcurl; returns its stop switch. */
  #pump(w: Watch, d: "r" | "w"): AbortController {
    const stop = new AbortController();
    const flag = d === "r" ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
    void (async () => {
      try {
        for (;;) {
          if (d === "r") await w.poll.waitReadable({ signal: stop.signal });
          else await w.poll.waitWritable({ signal: stop.signal });
          if (stop.signal.aborted) return;
          this.#action(w.fd, flag);
        }
      } catch (err) {
        if (stop.signal.aborted || w.poll.closed) return; // stopped, or the socket was removed
        this.#fail(err instanceof Error ? err : new Error(String(err)));
      }
    })();
    return stop;
  }

  #unwatch(fd: number): void {
    const w = this.#watches.get(fd);
    if (w === undefined) return;
    this.#watches.delete(fd);
    w.r?.abort();
    w.w?.abort();
    if (!w.poll.closed) w.poll.close();
  }

  #action(fd: number, events: number): void {
    const multi = this.#multi;
    if (multi === null) return;
    const rc = curl.curl_multi_socket_action(multi, fd, events, this.#running);
    if (rc !== 0) {
      this.#fail(new CurlError(rc, `curl_multi_socket_action: ${curl.curl_multi_strerror(rc)}`));
      return;
    }
    this.#collect();
  }

  /** Settles the transfers libcurl reports finished. */
  #collect(): void {
    const multi = this.#multi!;
    for (;;) {
      const msg = curl.curl_multi_info_read(multi, this.#queued);
      if (msg === null) return;
      if (read.i32(msg, CURLMSG_OFFSETS.msg) !== CURLMSG_DONE) continue;
      const easy = read.ptr(msg, CURLMSG_OFFSETS.easy);
      const result = read.i32(msg, CURLMSG_OFFSETS.result);
      const t = this.#byEasy.get(easy);
      if (t === undefined) continue;
      if (result !== 0) {
        this.#finish(t, new CurlError(result, `${t.url}: ${curl.curl_easy_strerror(result)}`));
        continue;
      }
      curl.curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, this.#code);
      this.#finish(t, { url: t.url, status: Number(this.#code[0]), body: concat(t.chunks) });
    }
  }

  #finish(t: Transfer, outcome: CurlResponse | CurlError): void {
    this.#byId.delete(t.id);
    this.#byEasy.delete(t.easy);
    curl.curl_multi_remove_handle(this.#multi!, t.easy);
    curl.curl_easy_cleanup(t.easy);
    if (outcome instanceof CurlError) t.done.reject(outcome);
    else t.done.resolve(outcome);
  }

  #fail(err: Error): void {
    this.#broken = err;
    for (const t of [...this.#byId.values()]) this.#finish(t, err instanceof CurlError ? err : new CurlError(-1, err.message));
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

async function main(urls: string[]): Promise<number> {
  if (urls.length === 0) {
    console.error("usage: bun examples/ffi/curl.ts URL...");
    return 2;
  }
  const m = new CurlMulti();
  let failed = 0;
  try {
    await Promise.all(
      urls.map((url) =>
        m.get(url, { timeoutMs: 30_000 }).then(
          (r) => console.log(`${r.status} ${r.body.length} ${url}`),
          (err: unknown) => {
            failed++;
            console.error(String(err instanceof Error ? err.message : err));
          },
        ),
      ),
    );
  } finally {
    m.close();
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)));
