// watch: a non-socket descriptor in the netpoller through pollFd — inotify.
//
// Binds inotify_init1 / inotify_add_watch with bun:ffi itself, registers the
// inotify descriptor with pollFd(), and prints each event as
// `<MASK names> <name>` (e.g. `IN_CREATE notes.txt`) as it arrives. The loop
// follows pollFd's edge-triggered contract: read until EAGAIN, and only then
// `await pfd.waitReadable()`. While parked nothing blocks the main thread;
// timers, other sockets and Bun's own I/O keep running.
//
// Try it:
//   bun examples/ffi/watch.ts /tmp/somewhere    # or no argument: a fresh temp dir
//   touch /tmp/somewhere/a; mv /tmp/somewhere/a /tmp/somewhere/b; rm /tmp/somewhere/b
//   bun examples/ffi/watch.ts --count 3         # exit 0 after 3 events
//
// Prints `watching <dir>` once the watch is in place. Without a directory
// argument it creates a temp dir (announced by that line, removed on exit).
// SIGINT / SIGTERM (or --count N events) end it: pfd.close(), close the
// descriptor, exit 0.
import { dlopen, FFIType } from "bun:ffi";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cString, E, errno, errnoName, platform, sys } from "bun-netpoll/ffi";
import { ClosedError, pollFd } from "bun-netpoll";

// inotify_init1 flags (the same values as O_NONBLOCK / O_CLOEXEC).
const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
// Event bits we ask for…
const IN_MODIFY = 0x2;
const IN_CLOSE_WRITE = 0x8;
const IN_MOVED_FROM = 0x40;
const IN_MOVED_TO = 0x80;
const IN_CREATE = 0x100;
const IN_DELETE = 0x200;
// …and ones the kernel may add on its own.
const IN_DELETE_SELF = 0x400;
const IN_MOVE_SELF = 0x800;
const IN_Q_OVERFLOW = 0x4000;
const IN_IGNORED = 0x8000;
const IN_ISDIR = 0x40000000;
const MASK_NAMES: [number, string][] = [
  [IN_CREATE, "IN_CREATE"],
  [IN_DELETE, "IN_DELETE"],
  [IN_MODIFY, "IN_MODIFY"],
  [IN_MOVED_FROM, "IN_MOVED_FROM"],
  [IN_MOVED_TO, "IN_MOVED_TO"],
  [IN_CLOSE_WRITE, "IN_CLOSE_WRITE"],
  [IN_DELETE_SELF, "IN_DELETE_SELF"],
  [IN_MOVE_SELF, "IN_MOVE_SELF"],
  [IN_Q_OVERFLOW, "IN_Q_OVERFLOW"],
  [IN_IGNORED, "IN_IGNORED"],
  [IN_ISDIR, "IN_ISDIR"],
];
/** struct inotify_event { int wd; u32 mask; u32 cookie; u32 len; char name[len]; } */
const EVENT_HEADER = 16;

if (platform.os !== "linux") {
  console.error("watch.ts needs Linux (inotify)");
  process.exit(1);
}
const { i32, u32, ptr } = FFIType;
const inotify = dlopen("libc.so.6", {
  inotify_init1: { args: [i32], returns: i32 },
  inotify_add_watch: { args: [i32, ptr, u32], returns: i32 },
}).symbols;

// Arguments: [dir] [--count N]
let dir: string | null = null;
let limit = Infinity;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--count") limit = Number(args[++i]);
  else dir = args[i]!;
}
if (!(limit > 0)) {
  console.error("usage: bun examples/ffi/watch.ts [dir] [--count N]  (N > 0)");
  process.exit(2);
}
const tempDir = dir === null;
dir = path.resolve(dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "bun-netpoll-watch-")));

const fd = inotify.inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
if (fd < 0) throw new Error(`inotify_init1: ${errnoName(errno())}`);
const dirC = cString(dir); // kept referenced across the call
const mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF;
if (inotify.inotify_add_watch(fd, dirC, mask) < 0) {
  const e = errno();
  sys.close(fd);
  console.error(`inotify_add_watch ${dir}: ${errnoName(e)}`);
  process.exit(1);
}
const pfd = pollFd(fd);
console.log(`watching ${dir}`);

let stopping = false;
function stop(): void {
  if (stopping) process.exit(1); // a second signal: give up on a clean exit
  stopping = true;
  if (!pfd.closed) pfd.close(); // a parked waitReadable rejects with ClosedError; the loop ends
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

function maskNames(m: number): string {
  return MASK_NAMES.filter(([bit]) => m & bit).map(([, name]) => name).join("|") || `0x${m.toString(16)}`;
}

const buf = new Uint8Array(new ArrayBuffer(64 * 1024)); // the kernel writes events here
const view = new DataView(buf.buffer);
const dec = new TextDecoder();
let seen = 0;
try {
  read: while (!stopping) {
    const n = sys.read(fd, buf, buf.length);
    if (n < 0) {
      const e = errno();
      if (e === E.EINTR) continue;
      if (e !== E.EAGAIN) throw new Error(`read inotify: ${errnoName(e)}`);
      await pfd.waitReadable(); // drained: park until the descriptor becomes readable again
      continue;
    }
    // A read returns whole events, several at a time.
    for (let off = 0; off < n; ) {
      const m = view.getUint32(off + 4, true);
      const len = view.getUint32(off + 12, true);
      const raw = buf.subarray(off + EVENT_HEADER, off + EVENT_HEADER + len);
      const nul = raw.indexOf(0);
      const name = dec.decode(nul >= 0 ? raw.subarray(0, nul) : raw);
      off += EVENT_HEADER + len;
      console.log(name ? `${maskNames(m)} ${name}` : maskNames(m));
      if (++seen >= limit || m & IN_IGNORED) break read; // enough, or the watch is gone
    }
  }
} catch (err) {
  if (!(err instanceof ClosedError)) throw err; // ClosedError: stop() closed the PollFd
} finally {
  if (!pfd.closed) pfd.close();
  sys.close(fd);
  if (tempDir) fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
