// Pipelined load against examples/http.ts and an equivalent Bun.serve, each in
// its own process, from a client in this process: CONNS connections, each
// sending DEPTH pipelined `GET /` at a time and waiting for all DEPTH answers.
//
//   bun examples/http/bench.ts              # DEPTH=16 CONNS=32 DURATION=4
//   DEPTH=1 bun examples/http/bench.ts      # no pipelining
//
// The client is JavaScript too, so absolute numbers are low on a small
// machine; the ratio is the point. For sharper numbers use wrk with a Lua
// script that returns DEPTH requests from request() (see the bottom of this file).
import * as net from "node:net";
import * as path from "node:path";

const DEPTH = Number(process.env.DEPTH ?? 16);
const CONNS = Number(process.env.CONNS ?? 32);
const DURATION = Number(process.env.DURATION ?? 4); // seconds per run
const ROOT = path.resolve(import.meta.dir, "../..");

const BUN_SERVE = `
const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("Hello, World!") });
console.log("listening on http://127.0.0.1:" + s.port);
`;

async function start(args: string[], env: Record<string, string>): Promise<{ proc: ReturnType<typeof Bun.spawn>; port: number }> {
  const proc = Bun.spawn([process.execPath, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "inherit" });
  let text = "";
  const d = new TextDecoder();
  for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
    text += d.decode(chunk, { stream: true });
    const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
    if (m) return { proc, port: Number(m[1]) };
  }
  throw new Error(`server did not start: ${text}`);
}

// Counts responses by their body, "Hello, World!", matched across reads.
const TAIL = Buffer.from("World!");

async function load(port: number): Promise<number> {
  const batch = Buffer.from("GET / HTTP/1.1\r\nHost: bench\r\n\r\n".repeat(DEPTH));
  const until = performance.now() + DURATION * 1000;
  let total = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createConnection({ host: "127.0.0.1", port });
      let match = 0;
      let got = 0;
      s.setNoDelay(true);
      s.on("connect", () => s.write(batch));
      s.on("data", (data: Buffer) => {
        for (let i = 0; i < data.length; i++) {
          const c = data[i];
          match = c === TAIL[match] ? match + 1 : c === TAIL[0] ? 1 : 0;
          if (match === TAIL.length) {
            match = 0;
            got++;
          }
        }
        while (got >= DEPTH) {
          got -= DEPTH;
          total += DEPTH;
          if (performance.now() >= until) {
            s.destroy();
            resolve();
            return;
          }
          s.write(batch);
        }
      });
      s.on("error", reject);
    });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNS }, one));
  return total / ((performance.now() - t0) / 1000);
}

const results: Record<string, number> = {};
for (const [name, args, env] of [
  ["bun-netpoll examples/http.ts", ["examples/http.ts"], { PORT: "0", HOST: "127.0.0.1" }],
  ["Bun.serve", ["-e", BUN_SERVE], {}],
] as const) {
  const { proc, port } = await start([...args], env);
  await load(port); // warm-up run
  results[name] = await load(port);
  proc.kill("SIGTERM");
  await proc.exited;
  console.log(`${name.padEnd(30)} ${Math.round(results[name]!).toLocaleString("en-US").padStart(12)} req/s  (depth ${DEPTH}, ${CONNS} conns)`);
}
const [a, b] = Object.values(results);
console.log(`ratio: ${(a! / b!).toFixed(2)}x`);

// wrk, for reference (depth 16):
//   cat > pipeline.lua <<'EOF'
//   init = function(args)
//     local r = {}
//     for i = 1, tonumber(args[1] or 16) do r[i] = wrk.format(nil, "/") end
//     req = table.concat(r)
//   end
//   request = function() return req end
//   EOF
//   wrk -t1 -c50 -d5s -s pipeline.lua http://127.0.0.1:8080/ -- 16
