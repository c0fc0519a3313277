// kqueue(2) and kevent(2) from a given library: libc on BSD, a kqueue
// library (libkqueue) on Linux. The backend in src/poll/kqueue.ts uses only
// this surface.
import { dlopen, type FFIType } from "bun:ffi";
import { kqueueSymbols } from "./libc.ts";

export interface KqueueApi {
  /** The library the functions come from (a sleeper thread loads it too). */
  readonly path: string;
  kqueue(): number;
  kevent(kq: number, changes: Uint8Array | null, nchanges: number, events: Uint8Array | null, nevents: number, timeout: Uint8Array | null): number;
}

/** kqueue()/kevent() from `lib` (libc on BSD, a kqueue library on Linux). */
export function loadKqueueApi(lib: string): KqueueApi {
  const s = dlopen(lib, kqueueSymbols as unknown as Record<string, { args: FFIType[]; returns: FFIType }>).symbols as unknown as Omit<KqueueApi, "path">;
  return { path: lib, kqueue: s.kqueue, kevent: s.kevent };
}
