// The package as users get it: npm pack, install the tarball into a fresh
// folder, import "bun-netpoll" under Bun, and type-check against dist/.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const work = mkdtempSync(join(tmpdir(), "bnp-pack-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(cmd: string[], cwd: string): string {
  const r = Bun.spawnSync(cmd, { cwd, env: { ...process.env, NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe" });
  if (!r.success) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}):\n${r.stdout.toString()}\n${r.stderr.toString()}`);
  return r.stdout.toString();
}

test(
  "npm pack → install into a fresh folder → import { listen, connect } from 'bun-netpoll' echoes, and its types resolve",
  () => {
    run(["npm", "pack", "--silent", "--pack-destination", work], root);
    const tgz = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(tgz).toMatch(/^bun-netpoll-\d+\.\d+\.\d+\.tgz$/);

    const app = join(work, "app");
    run(["mkdir", "-p", app], work);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    run(["npm", "install", "--offline", "--no-audit", "--no-fund", "--silent", join(work, tgz!)], app);

    writeFileSync(
      join(app, "main.ts"),
      `import { listen, connect } from "bun-netpoll";
const ln = listen({ port: 0, hostname: "127.0.0.1" });
const port = ln.addr.transport === "tcp" ? ln.addr.port : 0;
const served = (async () => {
  const c = await ln.accept();
  for await (const chunk of c) await c.write(chunk);
  await c.close();
})();
const c = await connect({ hostname: "127.0.0.1", port });
await c.write(new TextEncoder().encode("ping over the packed runtime"));
await c.closeWrite();
const buf = new Uint8Array(64);
let got = "";
for (let n = await c.read(buf); n !== null; n = await c.read(buf)) got += new TextDecoder().decode(buf.subarray(0, n));
await served;
await c.close();
await ln.close();
console.log("echo:" + got);
`,
    );
    const out = run([process.execPath, "main.ts"], app);
    expect(out.trim()).toBe("echo:ping over the packed runtime");

    // The bundled build (dist/, what non-Bun-condition resolvers load) works too.
    const distMain = readFileSync(join(app, "main.ts"), "utf8").replace('"bun-netpoll"', '"./node_modules/bun-netpoll/dist/index.js"');
    writeFileSync(join(app, "main-dist.ts"), distMain);
    expect(run([process.execPath, "main-dist.ts"], app).trim()).toBe("echo:ping over the packed runtime");

    // Types: a strict compile of typed usage against the installed dist/index.d.ts.
    writeFileSync(
      join(app, "typed.ts"),
      `import { connect, listen, type Conn, DeadlineExceededError, type Listener } from "bun-netpoll";
export async function roundTrip(port: number): Promise<number | null> {
  const ln: Listener = listen({ port: 0 });
  const c: Conn = await connect({ hostname: "127.0.0.1", port, timeout: 1000 });
  c.setReadDeadline(Date.now() + 1000);
  try {
    return await c.read(new Uint8Array(16));
  } catch (e) {
    if (e instanceof DeadlineExceededError && e.timeout) return null;
    throw e;
  } finally {
    await c.close();
    await ln.close();
  }
}
// @ts-expect-error port must be a number
listen({ port: "80" });
`,
    );
    const tsc = join(root, "node_modules", ".bin", "tsc");
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: "esnext", module: "esnext", moduleResolution: "bundler", lib: ["esnext", "dom"], types: [] },
        files: ["typed.ts"],
      }),
    );
    run([tsc, "-p", "tsconfig.json"], app);
  },
  120_000,
);
