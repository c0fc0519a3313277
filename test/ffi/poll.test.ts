// pollNow: poll(2) on one descriptor with a zero timeout, through the FFI.
import { expect, test } from "bun:test";
import { pollNow } from "../../ffi/libc.ts";
import { POLLFD } from "../../ffi/layout.ts";
import { C } from "../../ffi/platform.ts";
import { closeFd, pipe, writeFd } from "../_support/index.ts";

test("struct pollfd: int fd, short events, short revents in 8 bytes", () => {
  expect(POLLFD).toEqual({ size: 8, fd: 0, events: 4, revents: 6 });
  expect([C.POLLIN, C.POLLPRI, C.POLLOUT, C.POLLERR, C.POLLHUP, C.POLLNVAL]).toEqual([0x1, 0x2, 0x4, 0x8, 0x10, 0x20]);
});

test("pollNow reports what holds now: empty, readable, writable, hung up, closed", () => {
  const [r, w] = pipe();
  expect(pollNow(r, C.POLLIN)).toBe(0);
  expect(pollNow(w, C.POLLOUT)).toBe(C.POLLOUT);
  writeFd(w, "x");
  expect(pollNow(r, C.POLLIN)).toBe(C.POLLIN);
  closeFd(w);
  expect(pollNow(r, C.POLLIN)).toBe(C.POLLIN | C.POLLHUP);
  closeFd(r);
  expect(pollNow(r, C.POLLIN)).toBe(C.POLLNVAL);
});
