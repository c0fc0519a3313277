import { copyFileSync } from "node:fs";
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
  // The same one statement serves require() (node.js is ESM under "type": "module").
  onSuccess: async () => {
    copyFileSync("dist/node.js", "dist/node.cjs");
  },
});
