// bun-netpoll echo, the explicit shape: a per-connection buffer with
// read(buf) / write(buf.subarray(0, n)). BUF bytes per connection (default
// 16 KiB), allocated FFI-safe (its own ArrayBuffer) when the conn starts.
import { type Conn, listen, runtimeStats } from "../../src/index.ts";
import { heapOnSignal, hostname, port } from "./_heap.ts";

const BUF = Number(process.env.BUF ?? 16 * 1024);
heapOnSignal(runtimeStats);
const ln = listen({ hostname, port });
console.log(`bun-netpoll echo (read/write) listening on ${hostname}:${port}`);

async function handle(c: Conn): Promise<void> {
  const buf = new Uint8Array(new ArrayBuffer(BUF));
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      await c.write(buf.subarray(0, n));
    }
  } catch {
    // reset by the bench client: fine
  } finally {
    if (!c.closed) await c.close();
  }
}

for await (const c of ln) void handle(c);
