// WaitGroup, Mutex, RWMutex and Once (Go's sync package semantics).
import { describe, expect, test } from "bun:test";
import { go, Mutex, Once, RWMutex, sleep, WaitGroup } from "../../src/index.ts";
import { flush, guarded, type Settlement, settlement } from "../_support/index.ts";

/** Aborts ac with reason and lets continuations run: the waiter s has rejected with exactly that reason. */
async function expectAbortRejects(ac: AbortController, s: Settlement<unknown>, reason: unknown): Promise<void> {
  ac.abort(reason);
  await flush();
  expect(s.rejected).toBe(true);
  expect(s.error).toBe(reason);
}

describe("WaitGroup", () => {
  test("wait resolves exactly when the counter reaches zero", async () => {
    const wg = new WaitGroup();
    const ev: string[] = [];
    wg.add(3);
    expect(wg.count).toBe(3);
    const w1 = settlement(wg.wait().then(() => ev.push("wait1")));
    const w2 = settlement(wg.wait().then(() => ev.push("wait2")));
    for (let i = 0; i < 3; i++) {
      await flush();
      expect(w1.settled || w2.settled).toBe(false);
      ev.push(`done${i}`);
      wg.done();
    }
    await flush();
    expect(wg.count).toBe(0);
    expect(ev).toEqual(["done0", "done1", "done2", "wait1", "wait2"]);
  });

  test("wait at zero resolves at once; add(n) with n > 1 and negative deltas", async () => {
    const wg = new WaitGroup();
    await wg.wait();
    wg.add(5);
    const w = settlement(wg.wait());
    wg.add(-4);
    await flush();
    expect(w.settled).toBe(false);
    wg.add(-1);
    await flush();
    expect(w.settled).toBe(true);
  });

  test("tasks joined through a WaitGroup all ran before wait resolves", () =>
    guarded(async () => {
      const wg = new WaitGroup();
      let finished = 0;
      for (let i = 0; i < 50; i++) {
        wg.add(1);
        go(async () => {
          try {
            await sleep(i % 5);
            finished++;
          } finally {
            wg.done();
          }
        });
      }
      await wg.wait();
      expect(finished).toBe(50);
    }));

  test("a negative counter throws RangeError and leaves the counter unchanged", () => {
    const wg = new WaitGroup();
    expect(() => wg.done()).toThrow(RangeError);
    expect(() => wg.done()).toThrow("sync: negative WaitGroup counter");
    wg.add(1);
    expect(() => wg.add(-2)).toThrow(RangeError);
    expect(wg.count).toBe(1);
    expect(() => wg.add(0.5)).toThrow(RangeError);
  });

  test("wait with an abort signal rejects with signal.reason; other waiters are unaffected", async () => {
    const wg = new WaitGroup();
    wg.add(1);
    const ac = new AbortController();
    const aborted = settlement(wg.wait({ signal: ac.signal }));
    const other = settlement(wg.wait());
    await flush();
    await expectAbortRejects(ac, aborted, new Error("stop waiting"));
    expect(other.settled).toBe(false);
    wg.done();
    await flush();
    expect(other.settled).toBe(true);
    expect(other.rejected).toBe(false);
    await expect(new WaitGroup().wait({ signal: AbortSignal.abort() })).resolves.toBeUndefined(); // zero: nothing to wait for
    const wg2 = new WaitGroup();
    wg2.add(1);
    await expect(wg2.wait({ signal: AbortSignal.abort("pre") })).rejects.toBe("pre");
  });
});

describe("Mutex", () => {
  test("mutual exclusion: 100 tasks × 10 read-await-write increments inside the lock → exact total", () =>
    guarded(async () => {
      const mu = new Mutex();
      let counter = 0;
      let inside = 0;
      let maxInside = 0;
      const tasks = Array.from({ length: 100 }, (_, t) =>
        go(async () => {
          for (let i = 0; i < 10; i++) {
            await mu.lock();
            try {
              inside++;
              maxInside = Math.max(maxInside, inside);
              const v = counter;
              await Promise.resolve();
              if ((t + i) % 7 === 0) await sleep(0);
              counter = v + 1;
              inside--;
            } finally {
              mu.unlock();
            }
          }
        }),
      );
      await Promise.all(tasks);
      expect(counter).toBe(1000);
      expect(maxInside).toBe(1);
      expect(mu.locked).toBe(false);
    }));

  test("the same without the lock loses updates (the test above is meaningful)", async () => {
    let counter = 0;
    await Promise.all(
      Array.from({ length: 100 }, () =>
        go(async () => {
          const v = counter;
          await Promise.resolve();
          counter = v + 1;
        }),
      ),
    );
    expect(counter).toBeLessThan(100);
  });

  test("waiters get the lock in FIFO order, handed off directly", async () => {
    const mu = new Mutex();
    await mu.lock();
    const order: number[] = [];
    const tasks = [0, 1, 2, 3, 4].map((i) =>
      go(async () => {
        await mu.lock();
        order.push(i);
        await flush(2);
        mu.unlock();
      }),
    );
    await flush();
    expect(order).toEqual([]);
    mu.unlock();
    // Ownership passed to waiter 0 directly: the lock never looked free.
    expect(mu.locked).toBe(true);
    expect(mu.tryLock()).toBe(false);
    await Promise.all(tasks);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(mu.locked).toBe(false);
  });

  test("unlock of an unlocked mutex throws", async () => {
    const mu = new Mutex();
    expect(() => mu.unlock()).toThrow("sync: unlock of unlocked mutex");
    await mu.lock();
    mu.unlock();
    expect(() => mu.unlock()).toThrow("sync: unlock of unlocked mutex");
  });

  test("tryLock", async () => {
    const mu = new Mutex();
    expect(mu.tryLock()).toBe(true);
    expect(mu.locked).toBe(true);
    expect(mu.tryLock()).toBe(false);
    const w = settlement(mu.lock());
    await flush();
    expect(w.settled).toBe(false);
    mu.unlock();
    await flush();
    expect(w.settled).toBe(true);
    expect(mu.tryLock()).toBe(false);
    mu.unlock();
    expect(mu.tryLock()).toBe(true);
    mu.unlock();
  });

  test("an aborted lock waiter is skipped and never gets the lock", async () => {
    const mu = new Mutex();
    await mu.lock();
    const ac = new AbortController();
    const a = settlement(mu.lock({ signal: ac.signal }));
    const b = settlement(mu.lock());
    await flush();
    await expectAbortRejects(ac, a, "no");
    mu.unlock();
    await flush();
    expect(b.settled).toBe(true);
    mu.unlock();
    expect(mu.locked).toBe(false);
  });
});

describe("RWMutex", () => {
  test("readers hold the lock concurrently", async () => {
    const rw = new RWMutex();
    let readers = 0;
    let maxReaders = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        go(async () => {
          await rw.rlock();
          readers++;
          maxReaders = Math.max(maxReaders, readers);
          await sleep(5);
          readers--;
          rw.runlock();
        }),
      ),
    );
    expect(maxReaders).toBe(5);
  });

  test("a writer excludes readers and other writers, and waits for readers to leave", async () => {
    const rw = new RWMutex();
    await rw.rlock();
    await rw.rlock();
    const w = settlement(rw.lock());
    await flush();
    expect(w.settled).toBe(false); // two readers inside
    rw.runlock();
    await flush();
    expect(w.settled).toBe(false);
    rw.runlock();
    await flush();
    expect(w.settled).toBe(true); // writer in
    const r = settlement(rw.rlock());
    const w2 = settlement(rw.lock());
    await flush();
    expect(r.settled).toBe(false);
    expect(w2.settled).toBe(false);
    rw.unlock();
    await flush();
    // Readers waiting at unlock go first, then the next writer.
    expect(r.settled).toBe(true);
    expect(w2.settled).toBe(false);
    rw.runlock();
    await flush();
    expect(w2.settled).toBe(true);
    rw.unlock();
    expect(() => rw.unlock()).toThrow("sync: unlock of unlocked RWMutex");
    expect(() => rw.runlock()).toThrow("sync: runlock of unlocked RWMutex");
  });

  test("a writer is not starved by a continuous stream of overlapping readers", () =>
    guarded(async () => {
      const rw = new RWMutex();
      const ev: string[] = [];
      let stop = false;
      let seq = 0;
      // Readers arrive every ms, each holding the lock for 5 ms: without writer
      // preference there is never a moment with zero readers.
      const stream = go(async () => {
        const running: Promise<void>[] = [];
        while (!stop) {
          const id = seq++;
          running.push(
            go(async () => {
              await rw.rlock();
              ev.push(`r${id}`);
              await sleep(5);
              rw.runlock();
            }),
          );
          await sleep(1);
        }
        await Promise.all(running);
      });
      await sleep(20);
      const t0 = performance.now();
      const before = seq;
      await rw.lock();
      const waited = performance.now() - t0;
      ev.push("W");
      // While the writer holds the lock no reader gets in.
      const inBefore = ev.length;
      await sleep(10);
      expect(ev.length).toBe(inBefore);
      rw.unlock();
      stop = true;
      await stream;
      expect(waited).toBeLessThan(200);
      // Every reader that got in before W arrived no later than W asked.
      const readersBeforeW = ev.slice(0, ev.indexOf("W")).map((s) => Number(s.slice(1)));
      expect(Math.max(...readersBeforeW)).toBeLessThan(before);
      expect(ev.indexOf("W")).toBeGreaterThan(0);
      expect(ev.length).toBeGreaterThan(ev.indexOf("W") + 1); // readers resumed afterwards
    }));

  test("an aborted waiting writer releases the readers it was holding back", async () => {
    const rw = new RWMutex();
    await rw.rlock();
    const ac = new AbortController();
    const w = settlement(rw.lock({ signal: ac.signal }));
    await flush();
    const r = settlement(rw.rlock());
    await flush();
    expect(r.settled).toBe(false); // held back by the waiting writer
    await expectAbortRejects(ac, w, "gone");
    expect(r.settled).toBe(true);
    rw.runlock();
    rw.runlock();
    await rw.lock(); // free again
    rw.unlock();
  });
});

describe("Once", () => {
  test("fn runs once under concurrent do(); every caller resolves after it finished", async () => {
    const once = new Once();
    let runs = 0;
    let finished = false;
    const ev: string[] = [];
    const fn = async () => {
      runs++;
      await sleep(10);
      finished = true;
    };
    const calls = Array.from({ length: 10 }, (_, i) =>
      once.do(fn).then(() => {
        ev.push(`c${i}:${finished}`);
      }),
    );
    expect(once.done).toBe(false); // started, not finished
    await Promise.all(calls);
    expect(once.done).toBe(true);
    expect(runs).toBe(1);
    expect(ev).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}:true`));
    await once.do(() => {
      runs++;
    });
    expect(runs).toBe(1);
  });

  test("an error propagates to every caller, and fn is not run again", async () => {
    const once = new Once();
    let runs = 0;
    const boom = new Error("init failed");
    const calls = Array.from({ length: 5 }, () =>
      once
        .do(async () => {
          runs++;
          await sleep(1);
          throw boom;
        })
        .then(
          () => null,
          (e: unknown) => e,
        ),
    );
    expect(await Promise.all(calls)).toEqual([boom, boom, boom, boom, boom]);
    const later = await once.do(() => runs++).then(
      () => null,
      (e: unknown) => e,
    );
    expect(later).toBe(boom);
    expect(runs).toBe(1);
  });

  test("a synchronous throw is reported the same way", async () => {
    const once = new Once();
    const boom = new Error("sync");
    await expect(
      once.do(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    await expect(once.do(() => {})).rejects.toBe(boom);
  });
});
