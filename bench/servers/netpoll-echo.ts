// bun-netpoll echo, the idiomatic shape: async iteration over pooled chunks.
//   for await (const chunk of c) await c.write(chunk)
// IDLE_TIMEOUT_MS > 0 adds examples/echo.ts's idle deadline: setDeadline
// before the loop and after every chunk (default 0: none).
import { type Conn, listen, runtimeStats } from "../../src/index.ts";
import { heapOnSignal, hostname, port } from "./_heap.ts";

heapOnSignal(runtimeStats);
const idleMs = Number(process.env.IDLE_TIMEOUT_MS ?? 0);
const ln = listen({ hostname, port });
console.log(`bun-netpoll echo (iterator) listening on ${hostname}:${port}`);

async function handle(c: Conn): Promise<void> {
  try {
    if (idleMs > 0) {
      c.setDeadline(Date.now() + idleMs);
      for await (const chunk of c) {
        await c.write(chunk);
        c.setDeadline(Date.now() + idleMs);
      }
      return;
    }
    for await (const chunk of c) await c.write(chunk);
  } catch {
    // reset by the bench client: fine
  } finally {
    if (!c.closed) await c.close();
  }
}

for await (const c of ln) void handle(c);
