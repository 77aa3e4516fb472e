#!/usr/bin/env node
/* global process */
// gantry's executable. Runs the TypeScript sources directly with Node's type stripping
// (Node >= 22.18; `npm run ...` uses Node 24 from the npm registry's `node` package).
import { enableCompileCache } from "./compile-cache.js";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `gantry: error: Node ${process.versions.node} is too old (need >= 22.18)\n  hint: run it through npm (npm run gantry -- --help), which uses Node 24 from node_modules\n`,
  );
  process.exit(2);
}
enableCompileCache();
await import("../src/main.ts");
