// The HTTP example (examples/http.ts) on every core: the main thread starts
// one Bun Worker per core, and each Worker runs the same server
// (examples/http/server.ts) with its own netpoller, its own wake bridge and its
// own listening socket on the SAME port, opened with SO_REUSEPORT. The kernel
// spreads incoming connections across those sockets (by a hash of the
// connection's addresses), so there is no accept lock and no hand-off between
// threads: a connection lives and dies on the Worker whose socket accepted it.
//
// It shows:
//   - the runtime inside Workers: a loop per thread, nothing shared;
//   - `listen({ port, hostname, reusePort: true })` from several threads;
//   - a careful start: Workers start ONE AT A TIME. Each imports the runtime,
//     awaits `netpollReady()` (its netpoller and its wake-bridge thread are
//     up), listens and posts "ready"; only then does the next one start, so
//     bun:ffi's first dlopen never runs in two threads at once (Bun issue
//     40972). The main thread itself never loads the runtime.
//   - port 0 with SO_REUSEPORT: the first Worker listens on PORT (0 picks a
//     free port) and reports the real port; the others listen on that one;
//   - every response carries `X-Worker: <index>`, the Worker that served it;
//   - graceful shutdown on SIGINT/SIGTERM: every Worker stops accepting,
//     closes its idle connections and lets requests in flight finish (with
//     `Connection: close`); once all are done the process exits 0 (1 if some
//     connection is still open 5 s later; a second signal exits at once).
//
// Environment: WORKERS (default: navigator.hardwareConcurrency, or
// os.availableParallelism()), PORT (8080; 0 = a free port), HOST (0.0.0.0),
// and HTTP_READ_TIMEOUT_MS, HTTP_IDLE_TIMEOUT_MS, HTTP_WRITE_TIMEOUT_MS,
// STREAM_DELAY_MS as for examples/http.ts. The routes are the same too.
//
// Try it:
//   bun examples/cluster.ts                       # prints: bun-netpoll cluster listening on http://0.0.0.0:8080 (N workers)
//   WORKERS=2 PORT=0 bun examples/cluster.ts
//   for i in $(seq 8); do curl -s -D - -o /dev/null http://127.0.0.1:8080/ | grep X-Worker; done
//   wrk -t2 -c64 -d5s http://127.0.0.1:8080/      # or: bun bench/http-wrk.ts
//   kill -TERM <pid>                              # or Ctrl-C: graceful shutdown
//
// test/examples/cluster.test.ts runs it with WORKERS=2 and checks that both
// Workers serve connections.
import * as os from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

/** What the main thread gives each Worker. */
interface WorkerConfig {
  index: number;
  port: number;
  hostname: string;
  readTimeoutMs: number;
  idleTimeoutMs: number;
  writeTimeoutMs: number;
  streamDelayMs: number;
}

/** Worker → main. */
type FromWorker =
  | { type: "ready"; index: number; port: number }
  | { type: "error"; index: number; message: string }
  | { type: "done"; index: number };

/** Main → Worker. */
type ToWorker = { type: "shutdown" };

const SHUTDOWN_CAP_MS = 5_000;
/** A Worker that is not listening this long after it was started is reported as stuck. */
const START_TIMEOUT_MS = 30_000;

if (isMainThread) await main();
else await worker(workerData as WorkerConfig);

// ---------------------------------------------------------------------------
// The main thread: start the Workers one by one, print the address, relay signals.

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

async function main(): Promise<void> {
  const cores = navigator.hardwareConcurrency || os.availableParallelism();
  const count = envInt("WORKERS", cores);
  if (count < 1) throw new Error("WORKERS must be at least 1");
  const host = process.env.HOST || "0.0.0.0";
  const base = {
    hostname: host,
    readTimeoutMs: envInt("HTTP_READ_TIMEOUT_MS", 10_000),
    idleTimeoutMs: envInt("HTTP_IDLE_TIMEOUT_MS", 30_000),
    writeTimeoutMs: envInt("HTTP_WRITE_TIMEOUT_MS", 30_000),
    streamDelayMs: envInt("STREAM_DELAY_MS", 100),
  };
  let port = envInt("PORT", 8080);

  const workers: Worker[] = [];
  let shuttingDown = false;
  const done = new Set<number>();

  const markDone = (index: number): void => {
    done.add(index);
    if (done.size === workers.length) process.exit(0);
  };
  const fail = (message: string): never => {
    console.error(`cluster: ${message}`);
    process.exit(1);
  };

  // One at a time: the next Worker starts only after this one has its
  // netpoller up and is listening.
  for (let index = 0; index < count; index++) {
    const w = new Worker(new URL(import.meta.url), { workerData: { ...base, index, port } satisfies WorkerConfig });
    workers.push(w);
    // Until it is ready, trouble settles `started`; after that it ends the process.
    const started = Promise.withResolvers<FromWorker | string>();
    let ready = false;
    const trouble = (message: string) => (ready ? fail(message) : started.resolve(message));
    w.on("message", (m: FromWorker) => {
      if (m.type === "done") markDone(m.index);
      else started.resolve(m);
    });
    w.on("error", (err: Error) => trouble(`worker ${index} failed: ${err.stack ?? err}`));
    w.on("exit", (code: number) => {
      if (shuttingDown && code === 0) return markDone(index); // finished (its "done" may still be in flight)
      if (!done.has(index)) trouble(`worker ${index} exited with code ${code}`);
    });
    const timer = setTimeout(() => started.resolve(`worker ${index} did not start within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const m = await started.promise;
    clearTimeout(timer);
    if (typeof m === "string") fail(m);
    else if (m.type === "error") fail(`worker ${index}: ${m.message}`);
    else if (m.type === "ready") {
      if (index === 0) port = m.port; // PORT=0: the others join the port the first one got
      else if (m.port !== port) fail(`worker ${index} listens on ${m.port}, not ${port}`);
    }
    ready = true;
  }

  console.log(`bun-netpoll cluster listening on http://${host.includes(":") ? `[${host}]` : host}:${port} (${count} workers)`);

  function shutdown(signal: string): void {
    if (shuttingDown) {
      console.log(`cluster: ${signal} again, exiting now`);
      process.exit(1);
    }
    shuttingDown = true;
    console.log(`cluster: ${signal}, shutting down ${workers.length} worker(s)`);
    for (const w of workers) w.postMessage({ type: "shutdown" } satisfies ToWorker);
    setTimeout(() => {
      const left = workers.map((_, i) => i).filter((i) => !done.has(i));
      console.log(`cluster: worker(s) ${left.join(", ")} still busy after ${SHUTDOWN_CAP_MS} ms, exiting`);
      process.exit(1);
    }, SHUTDOWN_CAP_MS).unref();
  }
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

// ---------------------------------------------------------------------------
// A Worker: its own netpoller, its own listener on the shared port.

async function worker(cfg: WorkerConfig): Promise<void> {
  const port = parentPort!;
  const send = (m: FromWorker) => port.postMessage(m);
  try {
    // Loaded here, not at the top: the main thread never dlopens anything.
    const { netpollReady } = await import("bun-netpoll");
    const { startHttpServer } = await import("./http/server.ts");
    await netpollReady();
    const server = startHttpServer({
      port: cfg.port,
      hostname: cfg.hostname,
      reusePort: true,
      readTimeoutMs: cfg.readTimeoutMs,
      idleTimeoutMs: cfg.idleTimeoutMs,
      writeTimeoutMs: cfg.writeTimeoutMs,
      streamDelayMs: cfg.streamDelayMs,
      extraHeaders: `X-Worker: ${cfg.index}\r\n`,
      name: `worker ${cfg.index}`,
    });
    port.on("message", (m: ToWorker) => {
      if (m.type !== "shutdown") return;
      void server.shutdown().then(() => send({ type: "done", index: cfg.index }));
    });
    send({ type: "ready", index: cfg.index, port: server.port });
  } catch (err) {
    send({ type: "error", index: cfg.index, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}
