// IPv6 zones end to end over a real link-local address: a child bun process
// runs test/fixtures/zone_netns.ts in a new network namespace (unshare, as
// its own root user) whose loopback gets fe80::1/64, so the host's
// interfaces are untouched. TCP: listen on [fe80::1%lo], connect, both ends'
// addresses carry the zone. UDP: a server replies to the address it received
// from and reaches a link-local sender. unshare (util-linux) and ip
// (iproute2) are required: without them the test fails, naming the package.
import { afterEach, expect, test } from "bun:test";
import { expectClean } from "../_support/index.ts";

const FIXTURE = new URL("../fixtures/zone_netns.ts", import.meta.url).pathname;
const CHILD_BOUND_MS = 20_000;
const SBIN = "/usr/sbin:/sbin";

afterEach(() => expectClean());

function tool(cmd: string, pkg: string): string {
  const found = Bun.which(cmd, { PATH: `${process.env.PATH ?? ""}:${SBIN}` });
  if (found === null) throw new Error(`${cmd} not found: install ${pkg} (apt-get install -y ${pkg}) to run the link-local tests`);
  return found;
}

async function inNamespace(): Promise<unknown> {
  const unshare = tool("unshare", "util-linux");
  const ip = tool("ip", "iproute2");
  // nodad: the address is usable at once (no duplicate address detection wait).
  const script = `"$0" link set lo up && "$0" -6 addr add fe80::1/64 dev lo nodad && exec "$1" "$2"`;
  const proc = Bun.spawn([unshare, "--net", "--map-root-user", "sh", "-c", script, ip, process.execPath, FIXTURE], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), CHILD_BOUND_MS);
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`namespace child exited with ${code}:\n${out}\n${err}`);
  const line = out.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`namespace child printed no JSON:\n${out}\n${err}`);
  }
}

const ZONED = { family: "IPv6", hostname: "fe80::1", zone: "lo", scopeId: 1 } as const;

test(
  "TCP and UDP over fe80::1%lo: the zone is parsed, written, read back and replied to",
  async () => {
    expect(await inNamespace()).toEqual({
      tcp: {
        listener: { transport: "tcp", ...ZONED, port: "server" },
        listenerText: "[fe80::1%lo]:1",
        clientRemote: { transport: "tcp", ...ZONED, port: "server" },
        clientLocal: { transport: "tcp", ...ZONED, port: "client" },
        serverRemote: { transport: "tcp", ...ZONED, port: "client" },
        serverLocal: { transport: "tcp", ...ZONED, port: "server" },
        serverRemoteText: "[fe80::1%lo]:1",
        data: ["ping", "pong"],
        byIndexRemote: { transport: "tcp", ...ZONED, port: "server" },
        noZone: { cls: "NetError", code: "EINVAL", syscall: "connect", op: "dial" },
        bindNoZone: { cls: "NetError", code: "EINVAL", syscall: "bind", op: "listen" },
      },
      udp: {
        sender: { transport: "udp", ...ZONED, port: "udp-sender" },
        received: { text: "hello", from: { transport: "udp", ...ZONED, port: "udp-sender" }, fromText: "[fe80::1%lo]:1" },
        replied: { ok: true },
        otherScope: { cls: "NetError", code: "ENETUNREACH", syscall: "sendto", op: "send" },
        reply: { text: "re:hello", from: { transport: "udp", ...ZONED, port: "udp-server" } },
        connected: {
          remote: { transport: "udp", ...ZONED, port: "udp-server" },
          local: { transport: "udp", ...ZONED, port: "udp-connected" },
          from: { transport: "udp", ...ZONED, port: "udp-connected" },
          replied: { ok: true },
          reply: "re:again",
        },
        connectNoZone: { cls: "NetError", code: "EINVAL", syscall: "connect", op: "dial" },
      },
      leftOpen: { fds: 0, pollDescs: 0, timers: 0, parked: 0, holds: 0 },
    });
  },
  CHILD_BOUND_MS + 5_000,
);
