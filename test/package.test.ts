// The package as users get it: npm pack, install the tarball into a fresh
// folder, import "bun-netpoll" under Bun, run examples shipped in it,
// type-check a strict user project, and load it from Node.js.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BufferedReader, connect } from "../src/index.ts";

const root = join(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "bnp-pack-"));
const app = join(work, "app");
const pkg = join(app, "node_modules", "bun-netpoll");
const tsc = join(root, "node_modules", ".bin", "tsc");
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Ran {
  readonly ok: boolean;
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

function spawn(cmd: string[], cwd: string, env: Record<string, string> = {}): Ran {
  const r = Bun.spawnSync(cmd, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, stdout: "pipe", stderr: "pipe" });
  return { ok: r.success, code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

function run(cmd: string[], cwd: string, env: Record<string, string> = {}): string {
  const r = spawn(cmd, cwd, env);
  if (!r.ok) throw new Error(`${cmd.join(" ")} failed (${r.code}):\n${r.out}\n${r.err}`);
  return r.out;
}

beforeAll(() => {
  run(["npm", "pack", "--silent", "--pack-destination", work], root);
  const tgz = readdirSync(work).find((f) => f.endsWith(".tgz"));
  expect(tgz).toMatch(/^bun-netpoll-\d+\.\d+\.\d+\.tgz$/);
  run(["mkdir", "-p", app], work);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  run(["npm", "install", "--offline", "--no-audit", "--no-fund", "--silent", join(work, tgz!)], app);
}, 120_000);

test("the tarball holds the sources, the dist entries and the examples, and no tests", () => {
  for (const f of [
    "src/index.ts",
    "src/bufio.ts",
    "src/ffi.ts",
    "ffi/libc.ts",
    "dist/index.js",
    "dist/index.d.ts",
    "dist/ffi.d.ts",
    "dist/node.js",
    "dist/node.cjs",
    "examples/echo.ts",
    "examples/ffi/raw-epoll.ts",
    "README.md",
  ]) {
    expect({ f, exists: existsSync(join(pkg, f)) }).toEqual({ f, exists: true });
  }
  expect(existsSync(join(pkg, "test"))).toBe(false);
  const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
  expect(manifest.engines.bun).toMatch(/^>=/);
  // Shipped examples import only the public entry points.
  const examples = run(["grep", "-rhoE", `from "[^"]+"|import\\("[^"]+"\\)`, "examples"], pkg).split("\n").filter(Boolean);
  const specifiers = new Set(examples.map((l) => /"([^"]+)"/.exec(l)![1]!));
  const internal = [...specifiers].filter((s) => s.startsWith("../") || s.includes("src/") || s.includes("ffi/"));
  expect(internal).toEqual([]);
  expect(specifiers.has("bun-netpoll")).toBe(true);
  expect(specifiers.has("bun-netpoll/ffi")).toBe(true);
});

test("import { listen, connect, BufferedReader } from 'bun-netpoll' echoes under Bun, from src and from dist", () => {
  writeFileSync(
    join(app, "main.ts"),
    `import { BufferedReader, connect, listen } from "bun-netpoll";
import { errnoName, E } from "bun-netpoll/ffi";
const ln = listen({ port: 0, hostname: "127.0.0.1" });
const port = ln.addr.transport === "tcp" ? ln.addr.port : 0;
const served = (async () => {
  const c = await ln.accept();
  for await (const chunk of c) await c.write(chunk);
  await c.close();
})();
const c = await connect({ hostname: "127.0.0.1", port });
await c.write(new TextEncoder().encode("ping over the packed runtime\\n"));
await c.closeWrite();
const line = await new BufferedReader(c).readLine();
await served;
await c.close();
await ln.close();
console.log("echo:" + line + " " + errnoName(E.EAGAIN));
`,
  );
  expect(run([process.execPath, "main.ts"], app).trim()).toBe("echo:ping over the packed runtime EAGAIN");
  // The bundled build (dist/, for tools that bundle for Bun without the bun condition) works too.
  const distMain = readFileSync(join(app, "main.ts"), "utf8")
    .replace('"bun-netpoll"', '"./node_modules/bun-netpoll/dist/index.js"')
    .replace('"bun-netpoll/ffi"', '"./node_modules/bun-netpoll/dist/ffi.js"');
  writeFileSync(join(app, "main-dist.ts"), distMain);
  expect(run([process.execPath, "main-dist.ts"], app).trim()).toBe("echo:ping over the packed runtime EAGAIN");
});

test("two shipped examples run from the installed package: ffi/raw-epoll.ts and the echo server", async () => {
  const raw = run([process.execPath, join(pkg, "examples/ffi/raw-epoll.ts")], app);
  expect(raw).toContain('read "hello" in 2 read(s), then EAGAIN');
  expect(raw).toContain("then EOF");

  const server = Bun.spawn([process.execPath, join(pkg, "examples/echo.ts")], {
    cwd: app,
    env: { ...process.env, PORT: "0" },
    stdout: "pipe",
    stderr: "pipe",
  });
  try {
    const reader = server.stdout.getReader();
    let first = "";
    while (!first.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`echo.ts exited: ${await new Response(server.stderr).text()}`);
      first += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    const m = /^bun-netpoll echo listening on 127\.0\.0\.1:(\d+)\n/.exec(first);
    expect(m).not.toBeNull();
    const c = await connect({ hostname: "127.0.0.1", port: Number(m![1]) });
    c.setDeadline(Date.now() + 10_000);
    await c.write(new TextEncoder().encode("hello from the tarball\n"));
    await c.closeWrite();
    const echoed = await new BufferedReader(c).readLine();
    const eof = await c.read(new Uint8Array(1));
    await c.close();
    const got = `${echoed}\n${eof === null ? "EOF" : "more"}`;
    expect(got).toBe("hello from the tarball\nEOF");
  } finally {
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }
}, 30_000);

// The strictest settings users commonly turn on (@tsconfig/strictest and
// bun init's), with customConditions ["bun"]: the shipped src/*.ts are
// type-checked as part of the user's program, so they must pass too.
const STRICT = {
  target: "ESNext",
  module: "Preserve",
  moduleResolution: "bundler",
  moduleDetection: "force",
  lib: ["ESNext"],
  typeRoots: [join(root, "node_modules", "@types")],
  types: ["bun"],
  allowImportingTsExtensions: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  noEmit: true,
  strict: true,
  noUncheckedIndexedAccess: true,
  noPropertyAccessFromIndexSignature: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  allowUnusedLabels: false,
  allowUnreachableCode: false,
  useUnknownInCatchVariables: true,
  forceConsistentCasingInFileNames: true,
  skipLibCheck: true,
};

const TYPED = `import { BufferedReader, type Conn, connect, DeadlineExceededError, listen, type Listener, UnexpectedEofError } from "bun-netpoll";
import { C, checked, errno, errnoName, sys } from "bun-netpoll/ffi";
export async function roundTrip(port: number): Promise<string | null> {
  const ln: Listener = listen({ port: 0 });
  const c: Conn = await connect({ hostname: "127.0.0.1", port, timeout: 1000 });
  c.setReadDeadline(Date.now() + 1000);
  const r = new BufferedReader(c, { size: 4096 });
  try {
    return await r.readLine({ max: 1024 });
  } catch (e) {
    if (e instanceof DeadlineExceededError && e.timeout) return null;
    if (e instanceof UnexpectedEofError) return String(e.bytesRead);
    throw e;
  } finally {
    await c.close();
    await ln.close();
  }
}
export function closeFd(fd: number): string {
  return sys.close(fd) < 0 ? errnoName(errno()) : String(checked("socket", sys.socket(C.AF_INET, C.SOCK_STREAM, 0)));
}
// @ts-expect-error port must be a number
listen({ port: "80" });
`;

test("a user project type-checks under strict flags with customConditions ['bun'] (the shipped src/*.ts included)", () => {
  writeFileSync(join(app, "typed.ts"), TYPED);
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { ...STRICT, customConditions: ["bun"] }, files: ["typed.ts"] }));
  const r = spawn([tsc, "-p", "tsconfig.json", "--listFilesOnly"], app);
  expect(r.ok).toBe(true);
  expect(r.out).toContain("node_modules/bun-netpoll/src/bufio.ts"); // the sources, not dist/*.d.ts
  const check = spawn([tsc, "-p", "tsconfig.json"], app);
  expect(check.out + check.err).toBe("");
  expect(check.ok).toBe(true);
}, 60_000);

test("without the bun condition, the same project type-checks against dist/*.d.ts", () => {
  writeFileSync(join(app, "typed.ts"), TYPED);
  writeFileSync(join(app, "tsconfig.dist.json"), JSON.stringify({ compilerOptions: STRICT, files: ["typed.ts"] }));
  const r = spawn([tsc, "-p", "tsconfig.dist.json", "--listFilesOnly"], app);
  expect(r.out).toContain("node_modules/bun-netpoll/dist/index.d.ts");
  expect(r.out).not.toContain("node_modules/bun-netpoll/src/");
  const check = spawn([tsc, "-p", "tsconfig.dist.json"], app);
  expect(check.out + check.err).toBe("");
  expect(check.ok).toBe(true);
}, 60_000);

const NODE_SENTENCE = "bun-netpoll runs only under Bun (https://bun.sh): it calls the kernel through Bun's FFI, which this runtime does not have";

test.skipIf(Bun.which("node") === null)("Node.js: import and require of bun-netpoll and bun-netpoll/ffi fail with one clear sentence", () => {
  for (const code of [
    `import("bun-netpoll").then(() => process.exit(3), (e) => { console.error("MSG " + e.message); process.exit(1); })`,
    `import("bun-netpoll/ffi").then(() => process.exit(3), (e) => { console.error("MSG " + e.message); process.exit(1); })`,
    `try { require("bun-netpoll"); process.exit(3) } catch (e) { console.error("MSG " + e.message); process.exit(1) }`,
    `try { require("bun-netpoll/ffi"); process.exit(3) } catch (e) { console.error("MSG " + e.message); process.exit(1) }`,
  ]) {
    const r = spawn(["node", "--input-type=commonjs", "-e", code], app);
    expect({ code, exit: r.code, err: r.err.trim() }).toEqual({ code, exit: 1, err: `MSG ${NODE_SENTENCE}` });
  }
  // And uncaught, as a user's script would see it: the sentence, not ERR_UNSUPPORTED_ESM_URL_SCHEME.
  writeFileSync(join(app, "node-main.mjs"), `import { listen } from "bun-netpoll";\nlisten({ port: 0 });\n`);
  const r = spawn(["node", "node-main.mjs"], app);
  expect(r.code).toBe(1);
  expect(r.err).toContain(`Error: ${NODE_SENTENCE}`);
  expect(r.err).not.toContain("ERR_UNSUPPORTED_ESM_URL_SCHEME");
});
