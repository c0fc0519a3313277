// More ready descriptors than one poll() batch holds: none may lose its
// readiness. epoll and a real kqueue keep what did not fit queued for the next
// call; libkqueue on Linux does not (its copy-out stops when the caller's
// event list is full and drops the rest of epoll's batch, which its
// edge-triggered registrations never report again), so there the loop makes
// every pollDesc retry after a full batch.
import { afterEach, expect, test } from "bun:test";
import { type Conn, connect, listen, runtimeStats, type UnixAddr } from "../../src/index.ts";
import { peekLoop } from "../../src/runtime/loop.ts";
import { expectClean, sleep } from "../_support/index.ts";
import * as fs from "node:fs";
import * as os from "node:os";

const conns: Conn[] = [];
afterEach(async () => {
  for (const c of conns.splice(0)) if (!c.closed) await c.close();
  await sleep(10);
  expectClean();
});

test("a batch fuller than the poller's capacity: every parked reader resumes with its byte", async () => {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/bnp-batch-`);
  const ln = listen({ path: `${dir}/s.sock` });
  // Readable and writable sockets: on libkqueue each epoll event becomes two
  // kevents, so well over one batch of them arrives at once.
  const pairs = Math.ceil((peekLoop()!.poller.capacity * 3) / 4) + 8;
  const a: Conn[] = [];
  const b: Conn[] = [];
  try {
    for (let i = 0; i < pairs; i++) {
      const [c, s] = await Promise.all([connect({ path: (ln.addr as UnixAddr).path }), ln.accept()]);
      conns.push(c, s);
      a.push(c);
      b.push(s);
    }
  } finally {
    await ln.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const bufs = b.map(() => new Uint8Array(new ArrayBuffer(4)));
  const reads = b.map((s, i) => s.read(bufs[i]!));
  const before = runtimeStats().parked;
  expect(before).toBe(pairs);
  // Every peer writes its byte in this turn: all of them are ready at the next drain.
  await Promise.all(a.map((c, i) => c.write(new Uint8Array([i & 0xff]))));
  let resumed = 0;
  const timeout = sleep(3000).then(() => "timeout" as const);
  const all = Promise.all(reads.map((r) => r.then((n) => (resumed++, n))));
  const got = await Promise.race([all, timeout]);
  expect({ resumed, parked: runtimeStats().parked }).toEqual({ resumed: pairs, parked: 0 });
  expect(got).toEqual(b.map(() => 1));
  expect(bufs.map((u) => u[0])).toEqual(a.map((_, i) => i & 0xff));
  // Where the poller can drop events in a full batch, the loop noticed one.
  if (peekLoop()!.poller.lossyWhenFull) expect(runtimeStats().loop.fullBatchRetries).toBeGreaterThan(0);
});
