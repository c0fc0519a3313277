// The one platform switch: which OS constants, errno table, libc and struct
// layouts this process uses. Everything else asks here.
import { linuxConstants } from "./constants/linux.ts";
import type { OsConstants } from "./constants/types.ts";
import { linuxErrno } from "./errno/linux.ts";
import { Errno } from "./errno/table.ts";
import { epollEventLayout, type EpollEventLayout } from "./layout.ts";

export type OsName = "linux" | "darwin" | "freebsd";

export interface Platform {
  readonly os: OsName;
  readonly arch: string;
  readonly libc: string;
  readonly constants: OsConstants;
  readonly errno: Errno;
  readonly epollEvent: EpollEventLayout;
}

function detect(): Platform {
  const arch = process.arch;
  switch (process.platform) {
    case "linux":
      return {
        os: "linux",
        arch,
        libc: "libc.so.6",
        constants: linuxConstants,
        errno: new Errno(linuxErrno),
        epollEvent: epollEventLayout(arch),
      };
    default:
      throw new Error(`bun-netpoll does not support ${process.platform}/${arch} yet`);
  }
}

export const platform: Platform = detect();
/** Shorthand for `platform.constants`. */
export const C: OsConstants = platform.constants;
/** errno numbers by name for this OS (`E.EAGAIN`). */
export const E: Readonly<Record<string, number>> = platform.errno.codes;
