// Bun.serve hello: 13-byte body "Hello, World!".
import { heapOnSignal, hostname, port } from "./_heap.ts";

heapOnSignal();
Bun.serve({ hostname, port, fetch: () => new Response("Hello, World!") });
console.log(`Bun.serve hello listening on ${hostname}:${port}`);
