// node:net echo on Bun: socket.write(data) for each 'data' event.
import net from "node:net";
import { heapOnSignal, hostname, port } from "./_heap.ts";

heapOnSignal();
const server = net.createServer((s) => {
  s.setNoDelay(true);
  s.on("data", (d) => s.write(d));
  s.on("error", () => {});
});
server.listen(port, hostname, () => console.log(`node:net echo listening on ${hostname}:${port}`));
