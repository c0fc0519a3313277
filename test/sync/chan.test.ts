// Chan semantics, ported from Go's runtime/chan_test.go (TestChan,
// TestNonblockRecvRace, TestMultiConsumer …) and test/chan/*.go (fifo,
// nonblock, goroutines, doubleselect, sieve1, powser-like pipelines).
import { describe, expect, test } from "bun:test";
import { Chan, ChannelError, go, select, WaitGroup } from "../../src/index.ts";
import { flush, guarded, primes, settlement } from "../_support/index.ts";

describe("unbuffered rendezvous", () => {
  test("a send resolves only after a receiver took the value (sender first, exact event order)", async () => {
    const ch = new Chan<number>();
    const ev: string[] = [];
    const sender = go(async () => {
      for (let i = 0; i < 3; i++) {
        ev.push(`S:send ${i}`);
        await ch.send(i);
        ev.push(`S:sent ${i}`);
      }
    });
    for (let i = 0; i < 3; i++) {
      await flush();
      // The sender is parked: nobody has taken value i yet.
      expect(ev.at(-1)).toBe(`S:send ${i}`);
      expect(ch.len).toBe(0);
      const r = ch.tryRecv(); // takes it synchronously
      ev.push(`R:took ${r?.value}`);
    }
    await sender;
    expect(ev).toEqual(["S:send 0", "R:took 0", "S:sent 0", "S:send 1", "R:took 1", "S:sent 1", "S:send 2", "R:took 2", "S:sent 2"]);
  });

  test("a parked receiver gets the value handed over directly (receiver first, exact event order)", async () => {
    const ch = new Chan<string>();
    const ev: string[] = [];
    const receiver = go(async () => {
      for (let i = 0; i < 3; i++) {
        ev.push("R:recv");
        const r = await ch.recv();
        ev.push(`R:got ${r.value} ${r.ok}`);
      }
    });
    for (const v of ["a", "b", "c"]) {
      await flush();
      expect(ev.at(-1)).toBe("R:recv");
      expect(ch.trySend(v)).toBe(true); // a parked receiver: completes at once
      ev.push(`S:gave ${v}`);
      expect(ch.len).toBe(0); // handed over, never buffered
    }
    await receiver;
    expect(ev).toEqual(["R:recv", "S:gave a", "R:got a true", "R:recv", "S:gave b", "R:got b true", "R:recv", "S:gave c", "R:got c true"]);
  });

  test("send blocks with no receiver; trySend/tryRecv fail without a partner", async () => {
    const ch = new Chan<number>();
    expect(ch.trySend(1)).toBe(false);
    expect(ch.tryRecv()).toBeNull();
    const s = settlement(ch.send(7));
    await flush();
    expect(s.settled).toBe(false);
    expect(ch.len).toBe(0);
    expect(ch.cap).toBe(0);
    expect(await ch.recv()).toEqual({ value: 7, ok: true });
    await flush();
    expect(s.settled).toBe(true);
    expect(s.rejected).toBe(false);
  });

  test("parked senders are served in FIFO order (Go test/chan/fifo.go SynchFifo)", async () => {
    const ch = new Chan<number>();
    const done: number[] = [];
    for (let i = 0; i < 10; i++) {
      go(async () => {
        await ch.send(i);
        done.push(i);
      });
      await flush(2);
    }
    const got: number[] = [];
    for (let i = 0; i < 10; i++) got.push((await ch.recv()).value!);
    await flush();
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(done).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("parked receivers are served in FIFO order", async () => {
    const ch = new Chan<number>();
    const got: string[] = [];
    for (let i = 0; i < 5; i++) {
      go(async () => {
        const r = await ch.recv();
        got.push(`${i}:${r.value}`);
      });
      await flush(2);
    }
    for (let v = 100; v < 105; v++) await ch.send(v);
    await flush();
    expect(got).toEqual(["0:100", "1:101", "2:102", "3:103", "4:104"]);
  });

  test("Go's daisy chain (test/chan/goroutines.go, 'whispers'): 10,000 tasks pass a value along", () =>
    guarded(async () => {
      const n = 10_000;
      const leftmost = new Chan<number>();
      let right = leftmost;
      let left = leftmost;
      for (let i = 0; i < n; i++) {
        right = new Chan<number>();
        const l = left;
        const r = right;
        go(async () => {
          await l.send(1 + (await r.recv()).value!);
        });
        left = right;
      }
      go(() => right.send(1));
      expect(await leftmost.recv()).toEqual({ value: n + 1, ok: true });
    }));
});

describe("buffered channels", () => {
  test("FIFO with len/cap for cap 1..10 (Go test/chan/fifo.go AsynchFifo)", async () => {
    for (let cap = 1; cap <= 10; cap++) {
      const ch = new Chan<number>(cap);
      expect(ch.cap).toBe(cap);
      expect(ch.len).toBe(0);
      for (let i = 0; i < cap; i++) {
        expect(ch.trySend(i)).toBe(true);
        expect(ch.len).toBe(i + 1);
      }
      expect(ch.trySend(-1)).toBe(false); // full
      expect(ch.len).toBe(cap);
      for (let i = 0; i < cap; i++) {
        expect(ch.tryRecv()).toEqual({ value: i, ok: true });
        expect(ch.len).toBe(cap - i - 1);
      }
      expect(ch.tryRecv()).toBeNull();
      // Wrap around the ring several times, interleaved.
      const got: number[] = [];
      let next = 0;
      for (let round = 0; round < 5 * cap; round++) {
        while (ch.trySend(next)) next++;
        expect(ch.len).toBe(cap);
        const k = 1 + (round % cap);
        for (let j = 0; j < k; j++) got.push(ch.tryRecv()!.value!);
      }
      while (ch.len > 0) got.push(ch.tryRecv()!.value!);
      expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
    }
  });

  test("send blocks when full and resumes in order when room frees (parked senders keep FIFO)", async () => {
    for (let cap = 1; cap <= 10; cap++) {
      const ch = new Chan<number>(cap);
      for (let i = 0; i < cap; i++) await ch.send(i);
      const extra = [settlement(ch.send(cap)), settlement(ch.send(cap + 1))];
      await flush();
      expect(extra.map((s) => s.settled)).toEqual([false, false]);
      expect(ch.len).toBe(cap);
      expect(await ch.recv()).toEqual({ value: 0, ok: true });
      await flush();
      // The first parked sender moved into the freed slot.
      expect(extra.map((s) => s.settled)).toEqual([true, false]);
      expect(ch.len).toBe(cap);
      const rest: number[] = [];
      for (let i = 0; i < cap + 1; i++) rest.push((await ch.recv()).value!);
      expect(rest).toEqual(Array.from({ length: cap + 1 }, (_, i) => i + 1));
      await flush();
      expect(extra.every((s) => s.settled && !s.rejected)).toBe(true);
      expect(ch.len).toBe(0);
    }
  });

  test("constructor rejects a bad capacity", () => {
    expect(() => new Chan(-1)).toThrow(RangeError);
    expect(() => new Chan(1.5)).toThrow(RangeError);
    expect(() => new Chan(Number.NaN)).toThrow(RangeError);
  });
});

describe("Go runtime TestChan, for cap 0..20", () => {
  test("blocking, close, FIFO and multi-sender/receiver sums", () =>
    guarded(async () => {
      const L = 1000;
      for (let cap = 0; cap <= 20; cap++) {
        // Receive from an empty channel blocks.
        {
          const c = new Chan<number>(cap);
          const r = settlement(c.recv());
          await flush();
          expect(r.settled).toBe(false);
          c.trySend(0) || (await c.send(0));
          await flush();
          expect(r.settled).toBe(true);
        }
        // Send to a full channel blocks.
        {
          const c = new Chan<number>(cap);
          for (let i = 0; i < cap; i++) await c.send(i);
          const s = settlement(c.send(0));
          await flush();
          expect(s.settled).toBe(false);
          await c.recv();
          await flush();
          expect(s.settled).toBe(true);
        }
        // Receive from a closed channel: ok=false, value undefined (Go's zero value).
        {
          const c = new Chan<number>(cap);
          c.close();
          expect(await c.recv()).toEqual({ value: undefined, ok: false });
          expect(await c.recv()).toEqual({ value: undefined, ok: false });
        }
        // Close unblocks a receive.
        {
          const c = new Chan<number>(cap);
          const r = settlement(c.recv());
          await flush();
          c.close();
          await flush();
          expect(r.value).toEqual({ value: undefined, ok: false });
        }
        // 100 values arrive uncorrupted, in FIFO order.
        {
          const c = new Chan<number>(cap);
          go(async () => {
            for (let i = 0; i < 100; i++) await c.send(i);
          });
          for (let i = 0; i < 100; i++) expect((await c.recv()).value).toBe(i);
        }
        // 4 senders and 4 receivers: every value arrives exactly once.
        {
          const c = new Chan<number>(cap);
          const wg = new WaitGroup();
          const recvd = new Array<number>(L).fill(0);
          wg.add(8);
          for (let p = 0; p < 4; p++)
            go(async () => {
              for (let i = 0; i < L; i++) await c.send(i);
              wg.done();
            });
          for (let p = 0; p < 4; p++)
            go(async () => {
              for (let i = 0; i < L; i++) recvd[(await c.recv()).value!]!++;
              wg.done();
            });
          await wg.wait();
          expect(recvd.every((n) => n === 4)).toBe(true);
        }
        // len/cap.
        {
          const c = new Chan<number>(cap);
          expect(c.len).toBe(0);
          expect(c.cap).toBe(cap);
          for (let i = 0; i < cap; i++) c.trySend(i);
          expect(c.len).toBe(cap);
          expect(c.cap).toBe(cap);
        }
      }
    }));
});

describe("close", () => {
  test("wakes every parked receiver with ok=false", async () => {
    for (const cap of [0, 1, 8]) {
      const ch = new Chan<number>(cap);
      const rs = Array.from({ length: 50 }, () => settlement(ch.recv()));
      await flush();
      expect(rs.some((r) => r.settled)).toBe(false);
      ch.close();
      expect(ch.closed).toBe(true);
      await flush();
      expect(rs.map((r) => r.value)).toEqual(Array.from({ length: 50 }, () => ({ value: undefined, ok: false })));
    }
  });

  test("a closed buffered channel drains its values, then ok=false forever", async () => {
    const ch = new Chan<string>(4);
    for (const v of ["a", "b", "c"]) await ch.send(v);
    ch.close();
    expect(ch.len).toBe(3);
    expect(await ch.recv()).toEqual({ value: "a", ok: true });
    expect(ch.tryRecv()).toEqual({ value: "b", ok: true });
    expect(await ch.recv()).toEqual({ value: "c", ok: true });
    expect(ch.len).toBe(0);
    for (let i = 0; i < 3; i++) expect(await ch.recv()).toEqual({ value: undefined, ok: false });
    expect(ch.tryRecv()).toEqual({ value: undefined, ok: false });
  });

  test("send on a closed channel throws ChannelError", async () => {
    for (const cap of [0, 3]) {
      const ch = new Chan<number>(cap);
      ch.close();
      expect(() => ch.trySend(1)).toThrow(ChannelError);
      // However send() reports it (see regressions.test.ts), awaiting it throws.
      const err = await (async () => ch.send(1))().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ChannelError);
      expect((err as Error).message).toBe("send on closed channel");
      expect((err as Error).name).toBe("ChannelError");
    }
  });

  test("close rejects every parked sender with ChannelError; buffered values stay receivable", async () => {
    for (const cap of [0, 2]) {
      const ch = new Chan<number>(cap);
      for (let i = 0; i < cap; i++) await ch.send(i);
      const ss = Array.from({ length: 5 }, (_, i) => settlement(ch.send(100 + i)));
      await flush();
      expect(ss.some((s) => s.settled)).toBe(false);
      ch.close();
      await flush();
      for (const s of ss) {
        expect(s.rejected).toBe(true);
        expect(s.error).toBeInstanceOf(ChannelError);
      }
      const rest: unknown[] = [];
      for await (const v of ch) rest.push(v);
      expect(rest).toEqual(Array.from({ length: cap }, (_, i) => i)); // parked senders' values were not delivered
    }
  });

  test("close twice throws ChannelError", () => {
    const ch = new Chan<number>(1);
    ch.close();
    expect(() => ch.close()).toThrow(ChannelError);
    expect(() => ch.close()).toThrow("close of closed channel");
  });
});

describe("async iteration (range)", () => {
  test("yields every value in order and ends on close", async () => {
    for (const cap of [0, 1, 5]) {
      const ch = new Chan<number>(cap);
      go(async () => {
        for (let i = 0; i < 20; i++) await ch.send(i);
        ch.close();
      });
      const got: number[] = [];
      for await (const v of ch) got.push(v);
      expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
  });

  test("a range parked on an empty channel ends when it is closed", async () => {
    const ch = new Chan<number>();
    let ended = false;
    const r = go(async () => {
      for await (const _ of ch) throw new Error("no value was sent");
      ended = true;
    });
    await flush();
    expect(ended).toBe(false);
    ch.close();
    await r;
    expect(ended).toBe(true);
  });

  test("values sent as undefined are still values (ok=true), not the end", async () => {
    const ch = new Chan<undefined>(2);
    await ch.send(undefined);
    ch.close();
    expect(await ch.recv()).toEqual({ value: undefined, ok: true });
    expect(await ch.recv()).toEqual({ value: undefined, ok: false });
  });
});

describe("AbortSignal on send and recv", () => {
  test("aborting a parked send rejects with signal.reason and the value is never delivered", async () => {
    for (const cap of [0, 1]) {
      const ch = new Chan<string>(cap);
      for (let i = 0; i < cap; i++) await ch.send("filler");
      const ac = new AbortController();
      const reason = new Error("give up");
      const s = settlement(ch.send("aborted", { signal: ac.signal }));
      await flush();
      expect(s.settled).toBe(false);
      ac.abort(reason);
      await flush();
      expect(s.rejected).toBe(true);
      expect(s.error).toBe(reason);
      // A later sender and receiver: the aborted value must not appear.
      const later = settlement(ch.send("later"));
      const got: string[] = [];
      for (let i = 0; i < cap + 1; i++) got.push((await ch.recv()).value!);
      await flush();
      expect(later.settled).toBe(true);
      expect(got).toEqual([...Array.from({ length: cap }, () => "filler"), "later"]);
      expect(ch.tryRecv()).toBeNull();
      expect(ch.len).toBe(0);
    }
  });

  test("aborting a parked recv rejects with signal.reason and does not swallow a later value", async () => {
    const ch = new Chan<number>();
    const ac = new AbortController();
    const r = settlement(ch.recv({ signal: ac.signal }));
    await flush();
    ac.abort("stop");
    await flush();
    expect(r.rejected).toBe(true);
    expect(r.error).toBe("stop");
    // The aborted receiver is no longer a partner: trySend finds nobody.
    expect(ch.trySend(1)).toBe(false);
    const r2 = settlement(ch.recv());
    await flush();
    expect(ch.trySend(2)).toBe(true);
    await flush();
    expect(r2.value).toEqual({ value: 2, ok: true });
  });

  test("an already-aborted signal rejects at once when the op would wait, and lets a ready op complete", async () => {
    const ch = new Chan<number>(1);
    const signal = AbortSignal.abort("pre");
    await ch.send(1, { signal }); // room: completes regardless (as Go's select would)
    await expect(ch.send(2, { signal })).rejects.toBe("pre");
    expect(await ch.recv({ signal })).toEqual({ value: 1, ok: true });
    await expect(ch.recv({ signal })).rejects.toBe("pre");
    expect(ch.len).toBe(0);
  });

  test("an abort after the exchange completed changes nothing", async () => {
    const ch = new Chan<number>();
    const ac = new AbortController();
    const s = ch.send(5, { signal: ac.signal });
    expect(await ch.recv()).toEqual({ value: 5, ok: true });
    ac.abort();
    await s; // resolved, not rejected
  });
});

describe("Go concurrency programs", () => {
  test("TestNonblockRecvRace: a value sent before close is always received by a non-blocking recv", async () => {
    for (let i = 0; i < 1000; i++) {
      const c = new Chan<number>(1);
      c.trySend(1);
      const closer = go(() => c.close());
      expect(c.tryRecv()).toEqual({ value: 1, ok: true });
      await closer;
    }
  });

  test("TestMultiConsumer: workers between two buffered channels, exact count and sum", () =>
    guarded(async () => {
      const nwork = 23;
      const niter = 27_182;
      const pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
      const q = new Chan<number>(nwork * 3);
      const r = new Chan<number>(nwork * 3);
      const wg = new WaitGroup();
      for (let i = 0; i < nwork; i++) {
        wg.add(1);
        go(async (w: number) => {
          for await (const v of q) {
            if (pn[w % pn.length] === v) await Promise.resolve(); // mix things up (Go: runtime.Gosched)
            await r.send(v);
          }
          wg.done();
        }, i);
      }
      let expect_ = 0;
      go(async () => {
        for (let i = 0; i < niter; i++) {
          const v = pn[i % pn.length]!;
          expect_ += v;
          await q.send(v);
        }
        q.close();
        await wg.wait();
        r.close();
      });
      let n = 0;
      let s = 0;
      for await (const v of r) {
        n++;
        s += v;
      }
      expect(n).toBe(niter);
      expect(s).toBe(expect_);
    }));

  test("no lost wakeups: 100 producers × 10,000 messages to 10 consumers, cap 0 and cap 16", () =>
    guarded(async () => {
      const P = 100;
      const M = 10_000;
      for (const cap of [0, 16]) {
        const ch = new Chan<number>(cap);
        const producers = new WaitGroup();
        producers.add(P);
        for (let p = 0; p < P; p++)
          go(async () => {
            for (let i = 0; i < M; i++) await ch.send(p * M + i);
            producers.done();
          });
        go(async () => {
          await producers.wait();
          ch.close();
        });
        const counts = new Array<number>(10).fill(0);
        const sums = new Array<number>(10).fill(0);
        const consumers = Array.from({ length: 10 }, (_, c) =>
          go(async () => {
            for await (const v of ch) {
              counts[c]!++;
              sums[c]! += v;
            }
          }),
        );
        await Promise.all(consumers);
        const total = P * M;
        expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
        expect(sums.reduce((a, b) => a + b, 0)).toBe((total * (total - 1)) / 2);
        expect(counts.every((n) => n > 0)).toBe(true); // every consumer took part
      }
    }), 20_000);

  test("the sieve of Eratosthenes over a chain of channels (Go test/chan/sieve1.go): the first 100 primes", () =>
    guarded(async () => {
      const ac = new AbortController();
      const signal = ac.signal;
      const tasks: Promise<void>[] = [];
      const quietly = (fn: () => Promise<void>) =>
        tasks.push(
          go(async () => {
            try {
              await fn();
            } catch (err) {
              if (err !== signal.reason) throw err;
            }
          }),
        );
      const generate = (out: Chan<number>) =>
        quietly(async () => {
          for (let i = 2; ; i++) await out.send(i, { signal });
        });
      const filter = (input: Chan<number>, out: Chan<number>, prime: number) =>
        quietly(async () => {
          for (;;) {
            const { value } = await input.recv({ signal });
            if (value! % prime !== 0) await out.send(value!, { signal });
          }
        });
      let ch = new Chan<number>();
      generate(ch);
      const got: number[] = [];
      for (let i = 0; i < 100; i++) {
        const prime = (await ch.recv()).value!;
        got.push(prime);
        const ch1 = new Chan<number>();
        filter(ch, ch1, prime);
        ch = ch1;
      }
      expect(got).toEqual(primes(100));
      expect(got.at(-1)).toBe(541);
      ac.abort(new Error("done"));
      await Promise.all(tasks); // every stage stopped on the abort
      expect(tasks.length).toBe(101);
    }));

  test("power series as channel pipelines (powser-like): Ones, Add, Mul, Deriv, Split with select sends", () =>
    guarded(async () => {
      const ac = new AbortController();
      const signal = ac.signal;
      const stop = (err: unknown) => {
        if (err !== signal.reason) throw err;
      };
      const stream = (fn: (out: Chan<number>) => Promise<void>): Chan<number> => {
        const out = new Chan<number>();
        go(async () => fn(out).catch(stop));
        return out;
      };
      const next = async (c: Chan<number>) => (await c.recv({ signal })).value!;
      const ones = () => stream(async (out) => {
        for (;;) await out.send(1, { signal });
      });
      const add = (a: Chan<number>, b: Chan<number>) => stream(async (out) => {
        for (;;) await out.send((await next(a)) + (await next(b)), { signal });
      });
      // c_n = Σ a_k b_{n-k}
      const mul = (a: Chan<number>, b: Chan<number>) => stream(async (out) => {
        const as: number[] = [];
        const bs: number[] = [];
        for (let n = 0; ; n++) {
          as.push(await next(a));
          bs.push(await next(b));
          let c = 0;
          for (let k = 0; k <= n; k++) c += as[k]! * bs[n - k]!;
          await out.send(c, { signal });
        }
      });
      const deriv = (a: Chan<number>) => stream(async (out) => {
        await next(a);
        for (let n = 1; ; n++) await out.send(n * (await next(a)), { signal });
      });
      // Go powser's split: copies one stream to two, sending to whichever is ready first.
      const split = (a: Chan<number>): [Chan<number>, Chan<number>] => {
        const x = new Chan<number>();
        const y = new Chan<number>();
        go(async () => {
          for (;;) {
            const v = await next(a).catch(stop);
            if (v === undefined) return;
            const { index } = await select([{ send: x, value: v }, { send: y, value: v }, { signal }]);
            if (index === 2) return;
            const other = index === 0 ? y : x;
            await other.send(v, { signal }).catch(stop);
          }
        });
        return [x, y];
      };
      const take = async (c: Chan<number>, n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push(await next(c));
        return out;
      };

      expect(await take(add(ones(), ones()), 5)).toEqual([2, 2, 2, 2, 2]);
      // 1/(1-x)^2 = Σ (n+1) x^n
      const [o1, o2] = split(ones());
      expect(await take(mul(o1, o2), 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      // Split the square: one half times Ones is 1/(1-x)^3 = Σ C(n+2,2) x^n,
      // the other half's derivative is Σ (n+1)(n+2) x^n. split sends to both,
      // so the two halves must be consumed concurrently.
      const [sq1, sq2] = split(mul(ones(), ones()));
      const [cube, d] = await Promise.all([take(mul(sq1, ones()), 6), take(deriv(sq2), 5)]);
      expect(cube).toEqual([1, 3, 6, 10, 15, 21]);
      expect(d).toEqual([2, 6, 12, 20, 30]);
      ac.abort(new Error("done"));
      await flush();
    }));
});
