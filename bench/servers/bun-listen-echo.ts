// Bun.listen echo (uSockets): write what arrives; a short write keeps the
// unsent tail and flushes it on drain.
import { heapOnSignal, hostname, port } from "./_heap.ts";

heapOnSignal();
type State = { pending: Uint8Array | null };
Bun.listen<State>({
  hostname,
  port,
  socket: {
    open(s) {
      s.data = { pending: null };
      s.setNoDelay(true);
    },
    data(s, d) {
      const st = s.data;
      if (st.pending !== null) {
        const p = new Uint8Array(st.pending.length + d.length);
        p.set(st.pending);
        p.set(d, st.pending.length);
        st.pending = p;
        return;
      }
      const n = s.write(d);
      if (n < d.length) st.pending = d.slice(Math.max(0, n));
    },
    drain(s) {
      const st = s.data;
      if (st.pending === null) return;
      const n = s.write(st.pending);
      st.pending = n < st.pending.length ? st.pending.subarray(Math.max(0, n)) : null;
    },
    error() {},
    close() {},
  },
});
console.log(`Bun.listen echo listening on ${hostname}:${port}`);
