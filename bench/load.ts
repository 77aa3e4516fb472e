/**
 * Module loading, which every command pays: the two load figures of bench/results.md.
 *
 *   - `gantry --help` cold start (target ≤ 250 ms): wall time of a fresh Node process running
 *     `bin/gantry.js --help`, from spawn to exit;
 *   - cold import of the deploy modules (target ≤ 600 ms): a fresh Node process imports
 *     {@link DEPLOY_MODULES}, timed inside the process (Node's own start is not counted).
 *
 * Both are measured the way gantry runs: with the compile cache bin/gantry.js enables
 * (bin/compile-cache.js), filled by one run that is not counted — what every command after the
 * first one pays — and without it (NODE_DISABLE_COMPILE_CACHE=1) — what the first run after an
 * install, or after every source file changed, pays. The two kinds of run alternate, so a busy
 * machine weighs on both alike. One more measure imports Pulumi's Automation API after the deploy
 * modules: a deploy always opens its stack, so Pulumi is paid by every deploy even where the deploy
 * modules load it lazily.
 *
 * Alone: `node bench/load.ts [runs]` prints the measures with their spread and writes nothing.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { projectRoot } from "../src/tools/paths.ts";
import { noiseLoop, type Stat, summarize } from "./stats.ts";

/** What `gantry deploy` loads before it runs its first step. */
export const DEPLOY_MODULES: readonly string[] = [
  "src/app/environment.ts",
  "src/steps/deploy.ts",
  "src/steps/plan.ts",
];

/** Samples (ms) of each load measure. */
export interface LoadSamples {
  readonly help: number[];
  readonly helpNoCache: number[];
  readonly coldImport: number[];
  readonly coldImportNoCache: number[];
  readonly coldImportWithPulumi: number[];
}

const url = (file: string): string => pathToFileURL(path.join(projectRoot, file)).href;

/** Environments of a run with and without the compile cache. */
function environments(): { cached: NodeJS.ProcessEnv; uncached: NodeJS.ProcessEnv } {
  const cached = { ...process.env };
  delete cached.NODE_DISABLE_COMPILE_CACHE;
  return { cached, uncached: { ...process.env, NODE_DISABLE_COMPILE_CACHE: "1" } };
}

/** Wall time of one `gantry --help` in a fresh process. */
function helpOnce(env: NodeJS.ProcessEnv): number {
  const t = performance.now();
  const res = spawnSync(process.execPath, [path.join(projectRoot, "bin", "gantry.js"), "--help"], {
    stdio: "ignore",
    env,
  });
  if (res.status !== 0) throw new Error("gantry --help failed");
  return performance.now() - t;
}

/**
 * Import time of `modules` in a fresh process that first enables the compile cache as
 * bin/gantry.js does (NODE_DISABLE_COMPILE_CACHE=1 in `env` turns it off).
 */
function importOnce(modules: readonly string[], env: NodeJS.ProcessEnv): number {
  const script = [
    "const t = performance.now();",
    `(await import(${JSON.stringify(url("bin/compile-cache.js"))})).enableCompileCache();`,
    ...modules.map((m) => `await import(${JSON.stringify(m)});`),
    "console.log(performance.now() - t);",
  ].join("\n");
  const res = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", env });
  if (res.status !== 0) throw new Error(`cold import failed: ${res.stderr}`);
  return Number(res.stdout.trim());
}

/** Measure the load figures: `helpRuns` runs of each `--help` measure, `importRuns` of each import. */
export function measureLoad(helpRuns = 15, importRuns = 10): LoadSamples {
  const { cached, uncached } = environments();
  const deploy = DEPLOY_MODULES.map(url);
  const withPulumi = [...deploy, import.meta.resolve("@pulumi/pulumi/automation/index.js")];
  // Fill the compile cache with the current sources: not counted.
  helpOnce(cached);
  importOnce(withPulumi, cached);
  const samples: LoadSamples = {
    help: [],
    helpNoCache: [],
    coldImport: [],
    coldImportNoCache: [],
    coldImportWithPulumi: [],
  };
  for (let i = 0; i < helpRuns; i++) {
    samples.help.push(helpOnce(cached));
    samples.helpNoCache.push(helpOnce(uncached));
  }
  for (let i = 0; i < importRuns; i++) {
    samples.coldImport.push(importOnce(deploy, cached));
    samples.coldImportNoCache.push(importOnce(deploy, uncached));
    samples.coldImportWithPulumi.push(importOnce(withPulumi, cached));
  }
  return samples;
}

/** The load measures as rows of bench/results.md, the two figures first. */
export function loadStats(samples: LoadSamples): Stat[] {
  return [
    summarize("gantry --help (cold process, compile cache)", samples.help),
    summarize("cold import of the deploy modules (compile cache)", samples.coldImport),
    summarize("gantry --help (cold process, no compile cache)", samples.helpNoCache),
    summarize("cold import of the deploy modules (no compile cache)", samples.coldImportNoCache),
    summarize(
      "cold import of the deploy modules + Pulumi Automation API (compile cache)",
      samples.coldImportWithPulumi,
    ),
  ];
}

if (import.meta.main) {
  const runs = process.argv[2] ? Number(process.argv[2]) : undefined;
  const noiseBefore = Array.from({ length: 5 }, noiseLoop);
  const stats = loadStats(measureLoad(runs, runs));
  const noise = summarize("noise: fixed CPU loop", [...noiseBefore, ...Array.from({ length: 5 }, noiseLoop)]);
  const cell = (x: number): string => x.toFixed(1).padStart(8);
  process.stdout.write(
    [
      `Node ${process.version}, ${String(os.cpus().length)} CPUs, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
      `${"measure".padEnd(76)} runs   median      p95      min      max`,
      ...[...stats, noise].map(
        (s) =>
          `${s.name.padEnd(76)} ${String(s.runs).padStart(4)} ${cell(s.median)} ${cell(s.p95)} ${cell(s.min)} ${cell(s.max)}`,
      ),
      "",
    ].join("\n"),
  );
}
