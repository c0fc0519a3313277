// node:http hello on Bun: 13-byte body "Hello, World!".
import http from "node:http";
import { heapOnSignal, hostname, port } from "./_heap.ts";

heapOnSignal();
const server = http.createServer((_req, res) => {
  res.setHeader("Content-Type", "text/plain;charset=utf-8");
  res.end("Hello, World!");
});
server.keepAliveTimeout = 60_000;
server.listen(port, hostname, () => console.log(`node:http hello listening on ${hostname}:${port}`));
