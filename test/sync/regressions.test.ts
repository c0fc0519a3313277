// Minimal reproductions of defects found in src/sync/ while porting Go's
// channel tests. Each test states the expected (Go-like, documented)
// behaviour; they fail until the corresponding fix lands in src/sync/.
import { describe, expect, test } from "bun:test";
import { Chan, ChannelError, Mutex, select } from "../../src/index.ts";
import { flush } from "../_support/index.ts";

describe("WaiterQueue.shift after compaction (src/sync/_queue.ts)", () => {
  // shift() caches `items = this.#items`, compacts (this.#items = slice,
  // #head = 0) once #head > 1024, and if the waiter it just took was dead it
  // loops on reading the OLD array from index 0 (already cleared) → TypeError.
  test("a channel with > 1024 dead waiters ahead of a live one still hands over", async () => {
    const c = new Chan<number>();
    const acs = Array.from({ length: 2000 }, () => new AbortController());
    const aborted = acs.map((ac) => c.recv({ signal: ac.signal }).catch(() => "aborted"));
    for (const ac of acs) ac.abort();
    expect(new Set(await Promise.all(aborted))).toEqual(new Set(["aborted"]));
    const live = c.recv();
    expect(c.trySend(1)).toBe(true);
    expect(await live).toEqual({ value: 1, ok: true });
  });

  test("the same through select: 2,000 selects that fired elsewhere leave dead waiters on a shared channel", async () => {
    const shared = new Chan<number>();
    for (let i = 0; i < 2000; i++) {
      const other = new Chan<number>(1);
      const p = select([{ recv: shared }, { recv: other }]);
      other.trySend(i); // fires the select on `other`; its waiter on `shared` is now dead
      expect((await p).index).toBe(1);
    }
    const live = shared.recv();
    expect(shared.trySend(42)).toBe(true);
    expect(await live).toEqual({ value: 42, ok: true });
  });

  test("Mutex: > 1024 aborted lock waiters, then unlock hands over to the live one", async () => {
    const mu = new Mutex();
    await mu.lock();
    const acs = Array.from({ length: 2000 }, () => new AbortController());
    const aborted = acs.map((ac) => mu.lock({ signal: ac.signal }).catch(() => "aborted"));
    for (const ac of acs) ac.abort();
    await Promise.all(aborted);
    const live = mu.lock();
    mu.unlock();
    await live;
    expect(mu.locked).toBe(true);
  });
});

describe("dead waiters on a channel nobody shifts are never released (src/sync/_queue.ts + chan.ts select)", () => {
  // Go's selectgo dequeues a fired select's sudogs from every other channel;
  // here they stay in that channel's queue until a later send/recv walks
  // over them. On an idle channel (a quit channel, a rarely-used control
  // channel) they accumulate forever, each holding its closures and, for a
  // send case, the value (test/chan/select2.go checks select does not leak).
  async function alive(refs: WeakRef<object>[]): Promise<number> {
    for (let i = 0; i < 3; i++) {
      Bun.gc(true);
      await flush(2);
    }
    return refs.filter((r) => r.deref() !== undefined).length;
  }

  test("a select's send-case value is released once the select fired on another channel", async () => {
    const idle = new Chan<object>();
    const work = new Chan<number>();
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 2000; i++) {
      const value = { payload: new Array(64).fill(i) };
      refs.push(new WeakRef(value));
      const p = select([{ send: idle, value }, { recv: work }]);
      work.trySend(i);
      expect((await p).index).toBe(1);
    }
    expect(await alive(refs)).toBeLessThan(200);
    expect(idle.trySend({})).toBe(false); // and no live receiver appeared
  });

  test("an aborted send's value is released even if the channel is never used again", async () => {
    const idle = new Chan<object>();
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 2000; i++) {
      const value = { payload: new Array(64).fill(i) };
      refs.push(new WeakRef(value));
      const ac = new AbortController();
      const p = idle.send(value, { signal: ac.signal });
      ac.abort();
      await p.catch(() => {});
    }
    expect(await alive(refs)).toBeLessThan(200);
  });
});

describe("Promise-returning operations report ChannelError as a rejection (src/sync/chan.ts)", () => {
  // send() and select() call trySend() before creating their promise, so on
  // a closed channel they throw synchronously: `ch.send(v).catch(h)`,
  // `Promise.race([ch.send(v), …])` and `select(cases).then(…, h)` never see
  // the error (it escapes the caller instead).
  test("send() on a closed channel returns a rejected promise", async () => {
    const ch = new Chan<number>(1);
    ch.close();
    let p: Promise<void> | undefined;
    expect(() => {
      p = ch.send(1);
    }).not.toThrow();
    await expect(p!).rejects.toBeInstanceOf(ChannelError);
  });

  test("select() with a chosen send case on a closed channel returns a rejected promise", async () => {
    const ch = new Chan<number>();
    ch.close();
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = select([{ send: ch, value: 1 }]);
    }).not.toThrow();
    await expect(p!).rejects.toBeInstanceOf(ChannelError);
  });
});
