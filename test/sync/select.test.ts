// select, ported from Go's runtime/chan_test.go (TestSelfSelect,
// TestSelectFairness, TestSelectDuplicateChannel, TestPseudoRandomSend,
// TestSelectStress) and test/chan/{doubleselect,nonblock,select*,select3,select6}.go.
import { describe, expect, test } from "bun:test";
import { after, Chan, ChannelError, go, select, WaitGroup } from "../../src/index.ts";
import { flush, guarded, settlement } from "../_support/index.ts";

describe("select: readiness", () => {
  test("with default never waits and returns index -1 when nothing is ready (Go nonblock.go)", async () => {
    for (const cap of [0, 1, 4]) {
      const c = new Chan<number>(cap);
      for (let i = 0; i < cap; i++) c.trySend(i); // full: a send case is not ready
      const empty = new Chan<number>(cap); // empty: a recv case is not ready
      const p = select([{ recv: empty }, { send: c, value: 99 }], { default: true });
      const s = settlement(p);
      await Promise.resolve();
      await Promise.resolve();
      expect(s.settled).toBe(true); // resolved without any macrotask hop
      expect(await p).toEqual({ index: -1, value: undefined, ok: false });
      expect(c.len).toBe(cap);
      expect(empty.len).toBe(0);
    }
  });

  test("with default picks a ready case instead", async () => {
    const c = new Chan<number>(1);
    c.trySend(5);
    expect(await select([{ recv: new Chan() }, { recv: c }], { default: true })).toEqual({ index: 1, value: 5, ok: true });
    // A parked receiver makes an unbuffered send case ready.
    const u = new Chan<number>();
    const r = settlement(u.recv());
    await flush();
    expect(await select([{ send: u, value: 3 }], { default: true })).toEqual({ index: 0, value: undefined, ok: true });
    await flush();
    expect(r.value).toEqual({ value: 3, ok: true });
  });

  test("a closed channel's recv case is ready with ok=false (Go select3.go)", async () => {
    const c = new Chan<number>();
    c.close();
    expect(await select([{ recv: c }])).toEqual({ index: 0, value: undefined, ok: false });
    expect(await select([{ recv: new Chan() }, { recv: c }], { default: true })).toEqual({ index: 1, value: undefined, ok: false });
  });

  test("null cases never fire: only null cases + default → default", async () => {
    const r = await select([{ recv: null }, { send: null, value: 1 }], { default: true });
    expect(r.index).toBe(-1);
  });

  test("null cases never fire: a null case and a ready case → the ready one", async () => {
    const c = new Chan<string>(1);
    for (let i = 0; i < 200; i++) {
      c.trySend("x");
      const r = await select([{ recv: null }, { send: null, value: 1 }, { recv: c }, { recv: null }]);
      expect(r).toEqual({ index: 2, value: "x", ok: true });
    }
  });

  test("a select with only null cases and no default blocks forever (Go's select {} / nil channels)", async () => {
    const s = settlement(select([{ recv: null }, { send: null, value: 0 }]));
    const z = settlement(select([]));
    await flush();
    expect(s.settled).toBe(false);
    expect(z.settled).toBe(false);
  });

  test("select does not consume the cases it did not choose", async () => {
    for (let round = 0; round < 50; round++) {
      const chans = [new Chan<number>(3), new Chan<number>(3), new Chan<number>(3)];
      chans.forEach((c, i) => {
        c.trySend(i * 10);
        c.trySend(i * 10 + 1);
      });
      const r = await select(chans.map((c) => ({ recv: c })));
      expect(r.ok).toBe(true);
      expect(r.value).toBe(r.index * 10); // the chosen channel's first value
      expect(chans.map((c) => c.len)).toEqual(chans.map((_, i) => (i === r.index ? 1 : 2)));
      // Send cases: only the chosen one gets its value.
      const outs = [new Chan<number>(1), new Chan<number>(1), new Chan<number>(1)];
      const s = await select(outs.map((c, i) => ({ send: c, value: 100 + i })));
      expect(outs.map((c) => c.len)).toEqual(outs.map((_, i) => (i === s.index ? 1 : 0)));
      expect(outs[s.index]!.tryRecv()).toEqual({ value: 100 + s.index, ok: true });
    }
  });

  test("a parked select fires once; the other channels' values stay (counting what's left)", async () => {
    const a = new Chan<number>();
    const b = new Chan<number>();
    const c = new Chan<number>();
    const p = settlement(select([{ recv: a }, { recv: b }, { recv: c }]));
    await flush();
    expect(p.settled).toBe(false);
    // b fires first; later sends on a and c must find no receiver (the select's waiters are dead).
    expect(b.trySend(2)).toBe(true);
    expect(a.trySend(1)).toBe(false);
    expect(c.trySend(3)).toBe(false);
    expect(b.trySend(4)).toBe(false);
    await flush();
    expect(p.value).toEqual({ index: 1, value: 2, ok: true });
  });
});

describe("select: send cases", () => {
  test("a parked select with send cases delivers on exactly one channel", async () => {
    const a = new Chan<string>();
    const b = new Chan<string>();
    const p = settlement(select([{ send: a, value: "to-a" }, { send: b, value: "to-b" }]));
    await flush();
    expect(p.settled).toBe(false);
    expect(await b.recv()).toEqual({ value: "to-b", ok: true });
    await flush();
    expect(p.value).toEqual({ index: 1, value: undefined, ok: true });
    expect(a.tryRecv()).toBeNull(); // the other send did not happen
    expect(b.tryRecv()).toBeNull();
  });

  test("a send case on a closed channel throws ChannelError (at once and while parked)", async () => {
    const c = new Chan<number>();
    c.close();
    const err = await (async () => select([{ send: c, value: 1 }]))().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ChannelError);
    const d = new Chan<number>();
    const p = settlement(select([{ send: d, value: 1 }, { recv: new Chan() }]));
    await flush();
    d.close();
    await flush();
    expect(p.rejected).toBe(true);
    expect(p.error).toBeInstanceOf(ChannelError);
  });

  test("TestPseudoRandomSend: two send cases on one channel both get chosen", () =>
    guarded(async () => {
      for (const cap of [0, 1]) {
        const c = new Chan<number>(cap);
        const n = 1000;
        const got: number[] = [];
        const done = go(async () => {
          for (let i = 0; i < n; i++) got.push((await c.recv()).value!);
        });
        for (let i = 0; i < n; i++) await select([{ send: c, value: 0 }, { send: c, value: 1 }]);
        await done;
        const n0 = got.filter((v) => v === 0).length;
        const n1 = got.length - n0;
        expect(got.length).toBe(n);
        expect(n0).toBeGreaterThan(n / 10);
        expect(n1).toBeGreaterThan(n / 10);
      }
    }));

  test("TestSelfSelect: a select with send and recv on one channel never matches itself", () =>
    guarded(async () => {
      for (const cap of [0, 10]) {
        const c = new Chan<number>(cap);
        const wg = new WaitGroup();
        wg.add(2);
        const errors: string[] = [];
        for (let p = 0; p < 2; p++)
          go(async () => {
            for (let i = 0; i < 1000; i++) {
              if (p === 0 || i % 2 === 0) {
                const r = await select([{ send: c, value: p }, { recv: c }]);
                if (cap === 0 && r.index === 1 && r.value === p) errors.push(`task ${p} received its own value`);
              } else {
                const r = await select([{ recv: c }, { send: c, value: p }]);
                if (cap === 0 && r.index === 0 && r.value === p) errors.push(`task ${p} received its own value`);
              }
            }
            wg.done();
          });
        await wg.wait();
        expect(errors).toEqual([]);
      }
    }));
});

describe("select: fairness", () => {
  for (const n of [2, 3, 4]) {
    test(`with ${n} ready cases each is chosen within ±20% of 1/${n} over 10,000 selects`, async () => {
      const chans = Array.from({ length: n }, () => new Chan<number>(4));
      for (const [i, c] of chans.entries()) for (let k = 0; k < 4; k++) c.trySend(i);
      const cases = chans.map((c) => ({ recv: c }));
      const counts = new Array<number>(n).fill(0);
      const N = 10_000;
      for (let k = 0; k < N; k++) {
        const r = await select(cases);
        expect(r.value).toBe(r.index);
        counts[r.index]!++;
        chans[r.index]!.trySend(r.index); // re-fill
      }
      const expected = N / n;
      for (const c of counts) {
        expect(c).toBeGreaterThanOrEqual(expected * 0.8);
        expect(c).toBeLessThanOrEqual(expected * 1.2);
      }
      expect(counts.reduce((a, b) => a + b)).toBe(N);
    });
  }

  test("TestSelectFairness (Go): two ready buffered channels, each chosen 45–55% over 10,000 selects", async () => {
    const c1 = new Chan<number>(10_000);
    const c2 = new Chan<number>(10_000);
    for (let i = 0; i < 10_000; i++) {
      c1.trySend(1);
      c2.trySend(2);
    }
    let n1 = 0;
    let n2 = 0;
    for (let i = 0; i < 10_000; i++) {
      const r = await select([{ recv: c1 }, { recv: c2 }, { recv: null }, { recv: null }]);
      if (r.value === 1) n1++;
      else n2++;
    }
    expect(n1 / 10_000).toBeGreaterThan(0.45);
    expect(n2 / 10_000).toBeGreaterThan(0.45);
    expect(c1.len + c2.len).toBe(10_000); // exactly one value taken per select
  });
});

describe("select: timeouts and signals", () => {
  test("select with after(ms) times out", async () => {
    const c = new Chan<number>();
    const t0 = performance.now();
    const r = await select([{ recv: c }, { recv: after(30) }]);
    const dt = performance.now() - t0;
    expect(r.index).toBe(1);
    expect(r.ok).toBe(true);
    expect(r.value).toBeInstanceOf(Date);
    expect(dt).toBeGreaterThanOrEqual(25);
    expect(dt).toBeLessThan(1000);
    // The timed-out select left no receiver behind on c.
    expect(c.trySend(1)).toBe(false);
  });

  test("a value that arrives before the timeout wins", async () => {
    const c = new Chan<number>();
    setTimeout(() => c.trySend(42), 5);
    const r = await select([{ recv: c }, { recv: after(2000) }]);
    expect(r).toEqual({ index: 0, value: 42, ok: true });
  });

  test("a signal case fires on abort with the reason as value", async () => {
    const c = new Chan<number>();
    const ac = new AbortController();
    const p = settlement(select([{ recv: c }, { signal: ac.signal }]));
    await flush();
    expect(p.settled).toBe(false);
    const reason = new Error("cancelled");
    ac.abort(reason);
    await flush();
    expect(p.value).toEqual({ index: 1, value: reason, ok: true });
    expect(c.trySend(1)).toBe(false); // nobody left on c
  });

  test("an already-aborted signal case is ready", async () => {
    const r = await select([{ recv: new Chan() }, { signal: AbortSignal.abort("why") }]);
    expect(r).toEqual({ index: 1, value: "why", ok: true });
    expect((await select([{ signal: AbortSignal.abort("x") }], { default: true })).index).toBe(0);
  });

  test("an abort after the select fired changes nothing", async () => {
    const c = new Chan<number>(1);
    const ac = new AbortController();
    const p = select([{ recv: c }, { signal: ac.signal }]);
    c.trySend(9);
    expect(await p).toEqual({ index: 0, value: 9, ok: true });
    ac.abort();
    await flush();
  });
});

describe("select: Go test/chan programs", () => {
  test("doubleselect.go: a sender selecting over 4 channels, 4 muxes, no value lost or duplicated", () =>
    guarded(async () => {
      const n = 10_000;
      const cs = [new Chan<number>(), new Chan<number>(), new Chan<number>(), new Chan<number>()];
      const cmux = new Chan<number>();
      const done = new Chan<boolean>();
      go(async () => {
        for (let i = 0; i < n; i++) await select(cs.map((c) => ({ send: c, value: i })));
        for (const c of cs) c.close();
      });
      for (const c of cs)
        go(async () => {
          for await (const v of c) await cmux.send(v);
          await done.send(true);
        });
      go(async () => {
        for (let i = 0; i < 4; i++) await done.recv();
        cmux.close();
      });
      const seen = new Set<number>();
      let dup = 0;
      for await (const v of cmux) {
        if (seen.has(v)) dup++;
        seen.add(v);
      }
      expect(dup).toBe(0);
      expect(seen.size).toBe(n);
    }));

  test("TestSelectDuplicateChannel / select6.go: a fired select's stale waiter does not corrupt the queue", () =>
    guarded(async () => {
      const c = new Chan<number>();
      const d = new Chan<number>();
      const e = new Chan<number>();
      const log: string[] = [];
      // A: queued on c first (via select), then woken through d.
      go(async () => {
        const r = await select([{ recv: c }, { recv: d }]);
        if (r.index === 0) throw new Error("bad: A woke on c");
        log.push(`A got d=${r.value}`);
        await e.send(9);
      });
      await flush();
      // B: queued on c behind A's select waiter.
      const b = go(async () => {
        log.push(`B got c=${(await c.recv()).value}`);
      });
      await flush();
      await d.send(7); // wakes A; A's waiter on c becomes dead
      expect((await e.recv()).value).toBe(9);
      await c.send(8); // must wake B, not the dead waiter
      await b;
      expect(log).toEqual(["A got d=7", "B got c=8"]);
    }));

  test("select6.go (issue 2075): multiple waiters and a select at the tail of a queue", () =>
    guarded(async () => {
      const c1 = new Chan<boolean>();
      const c2 = new Chan<boolean>();
      const c3 = new Chan<boolean>();
      go(async () => {
        await c1.recv();
      });
      go(async () => {
        const r = await select([{ recv: c1 }, { recv: c2 }]);
        if (r.index === 0) throw new Error("dummy");
        await c3.send(true);
        await c1.recv();
      });
      go(async () => {
        await c1.send(true);
      });
      await flush();
      await c2.send(true);
      await c3.recv();
      await c1.send(true);
      // Reaching here means nothing deadlocked; c1 has no waiter left.
      expect(c1.trySend(true)).toBe(false);
    }));

  test("TestSelectStress: 4 channels, senders and receivers mixing plain ops and selects, all values arrive", () =>
    guarded(async () => {
      const N = 2000;
      const cs = [new Chan<number>(), new Chan<number>(2), new Chan<number>(), new Chan<number>(5)];
      const wg = new WaitGroup();
      const received = new Array<number>(4).fill(0);
      // plain senders and receivers, one per channel
      for (let k = 0; k < 4; k++) {
        wg.add(2);
        go(async () => {
          for (let i = 0; i < N; i++) await cs[k]!.send(i);
          wg.done();
        });
        go(async () => {
          for (let i = 0; i < N; i++) {
            await cs[k]!.recv();
            received[k]!++;
          }
          wg.done();
        });
      }
      // a select sender: N values to each channel, nulling out a channel once it has had N
      wg.add(2);
      go(async () => {
        const sent = [0, 0, 0, 0];
        const live: (Chan<number> | null)[] = [...cs];
        for (let i = 0; i < 4 * N; i++) {
          const r = await select(live.map((c, k) => ({ send: c, value: sent[k]! })));
          if (++sent[r.index]! === N) live[r.index] = null;
        }
        wg.done();
      });
      // a select receiver, likewise
      go(async () => {
        const got = [0, 0, 0, 0];
        const live: (Chan<number> | null)[] = [...cs];
        for (let i = 0; i < 4 * N; i++) {
          const r = await select(live.map((c) => ({ recv: c })));
          received[r.index]!++;
          if (++got[r.index]! === N) live[r.index] = null;
        }
        wg.done();
      });
      await wg.wait();
      expect(received).toEqual([2 * N, 2 * N, 2 * N, 2 * N]);
      expect(cs.map((c) => c.len)).toEqual([0, 0, 0, 0]);
    }));
});
