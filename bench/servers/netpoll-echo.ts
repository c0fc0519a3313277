// bun-netpoll echo, the idiomatic shape: async iteration over pooled chunks.
//   for await (const chunk of c) await c.write(chunk)
import { type Conn, listen, runtimeStats } from "../../src/index.ts";
import { heapOnSignal, hostname, port } from "./_heap.ts";

heapOnSignal(runtimeStats);
const ln = listen({ hostname, port });
console.log(`bun-netpoll echo (iterator) listening on ${hostname}:${port}`);

async function handle(c: Conn): Promise<void> {
  try {
    for await (const chunk of c) await c.write(chunk);
  } catch {
    // reset by the bench client: fine
  } finally {
    if (!c.closed) await c.close();
  }
}

for await (const c of ln) void handle(c);
