import { appendFileSync, copyFileSync, readFileSync } from "node:fs";
import { defineConfig } from "tsup";

export default defineConfig({
  // index and ffi: the package and bun-netpoll/ffi, bundled for Bun-targeting
  // tools; node: the entry of the `node`/`default` conditions, which only
  // throws "bun-netpoll runs only under Bun …".
  entry: { index: "src/index.ts", ffi: "src/ffi.ts", node: "src/node.ts" },
  format: ["esm"],
  target: "esnext",
  platform: "node",
  dts: { entry: { index: "src/index.ts", ffi: "src/ffi.ts" } },
  clean: true,
  sourcemap: true,
  external: ["bun:ffi"],
  onSuccess: async () => {
    // The throw alone serves require() (node.js is ESM under "type": "module").
    copyFileSync("dist/node.js", "dist/node.cjs");
    // An ESM importer links before it runs: `import { listen } from "bun-netpoll"`
    // would fail on a missing export instead of reaching the throw, so the
    // node entry declares every name the two real entries export.
    const names = new Set<string>();
    for (const f of ["dist/index.js", "dist/ffi.js"]) {
      for (const m of readFileSync(f, "utf8").matchAll(/^export \{([^}]*)\};?$/gm)) {
        for (const part of m[1]!.split(",")) {
          const name = part.trim().split(/\s+as\s+/).pop();
          if (name) names.add(name);
        }
      }
    }
    if (!names.has("listen") || !names.has("sys")) throw new Error("tsup: no export list found in dist/index.js or dist/ffi.js");
    appendFileSync("dist/node.js", `\nexport let ${[...names].sort().join(", ")};\n`);
  },
});
