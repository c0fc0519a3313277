// The variadic-call bindings as data: where each argument of fcntl(fd, cmd,
// value) lands, per ABI, computed by the same code that builds the runtime's
// call (ffi/variadic.ts), checked byte by byte on any machine.
import { describe, expect, test } from "bun:test";
import { darwinConstants } from "../../ffi/constants/darwin.ts";
import { fcntlVariadicAbi } from "../../ffi/libc.ts";
import { platform } from "../../ffi/platform.ts";
import { appleArm64FirstVariadicInt, placeArm64Named, variadicAbi, variadicIntBinding } from "../../ffi/variadic.ts";

describe("variadic ABI per platform", () => {
  test("only Apple arm64 passes variadic arguments differently from named ones", () => {
    expect(variadicAbi("darwin", "arm64")).toBe("apple-arm64");
    for (const [os, arch] of [
      ["darwin", "x64"],
      ["linux", "x64"],
      ["linux", "arm64"],
      ["freebsd", "x64"],
      ["freebsd", "arm64"],
    ] as const) {
      expect(variadicAbi(os, arch)).toBe("as-named");
    }
    expect(fcntlVariadicAbi).toBe(variadicAbi(platform.os, platform.arch));
  });

  test("as-named: fcntl is (int, int, int), the value in the third argument", () => {
    const b = variadicIntBinding("as-named");
    expect(b.params).toEqual(["i32", "i32", "i32"]);
    expect(b.valueIndex).toBe(2);
    expect(b.argv(7, 4, 0o4000)).toEqual([7, 4, 0o4000]);
  });
});

describe("aarch64-darwin fcntl binding: argument placement", () => {
  const { F_SETFL, O_NONBLOCK, F_SETFD, FD_CLOEXEC } = darwinConstants;
  const b = variadicIntBinding("apple-arm64");

  test("nine fixed parameters: fd and cmd, six fillers for x2–x7, the value as a 64-bit integer", () => {
    expect(b.params).toEqual(["i32", "i32", "i64", "i64", "i64", "i64", "i64", "i64", "i64"]);
    expect(b.valueIndex).toBe(8);
    expect(b.argv(9, F_SETFL, O_NONBLOCK)).toEqual([9, F_SETFL, 0, 0, 0, 0, 0, 0, O_NONBLOCK]);
  });

  test("fcntl(9, F_SETFL, O_NONBLOCK): fd in x0, cmd in x1, zeros in x2–x7, the value in the 8 bytes at sp+0", () => {
    const p = placeArm64Named(b.params, b.argv(9, F_SETFL, O_NONBLOCK));
    expect(p.regs).toEqual([9, 4, 0, 0, 0, 0, 0, 0]);
    expect([...p.stack]).toEqual([0x04, 0, 0, 0, 0, 0, 0, 0]);
    // The callee's first va_arg(int) reads the low half of that slot.
    expect(appleArm64FirstVariadicInt(p)).toBe(O_NONBLOCK);
  });

  test("fcntl(3, F_SETFD, FD_CLOEXEC) and a value using the high bytes land the same way", () => {
    const p = placeArm64Named(b.params, b.argv(3, F_SETFD, FD_CLOEXEC));
    expect(p.regs.slice(0, 2)).toEqual([3, 2]);
    expect([...p.stack]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    const q = placeArm64Named(b.params, b.argv(3, F_SETFL, 0x01020304));
    expect([...q.stack]).toEqual([0x04, 0x03, 0x02, 0x01, 0, 0, 0, 0]);
    expect(appleArm64FirstVariadicInt(q)).toBe(0x01020304);
  });

  test("the plain (int, int, int) binding would leave the value in x2, where Apple's va_arg never looks", () => {
    const naive = variadicIntBinding("as-named");
    const p = placeArm64Named(naive.params, naive.argv(9, F_SETFL, O_NONBLOCK));
    expect(p.regs.slice(0, 3)).toEqual([9, 4, O_NONBLOCK]);
    expect(p.stack.length).toBe(0);
    expect(appleArm64FirstVariadicInt(p)).toBeUndefined();
  });

  test("a 4-byte parameter on the stack is refused (Apple packs it into 4 bytes, not a variadic slot)", () => {
    const bad = ["i32", "i32", "i64", "i64", "i64", "i64", "i64", "i64", "i32"] as const;
    expect(() => placeArm64Named(bad, [1, 2, 0, 0, 0, 0, 0, 0, 4])).toThrow("4-byte argument on the stack");
  });
});
