/**
 * Benchmarks (npm run bench). Measures what this version of gantry controls and writes medians,
 * spread and machine noise to bench/results/latest.json and bench/results/latest.md.
 *
 *   - module loading (bench/load.ts): `gantry --help` cold start (target ≤ 250 ms) and the cold
 *     import of the deploy modules (target ≤ 600 ms), each in fresh Node processes;
 *   - sandbox start to first healthy answer;
 *   - sandbox stack `up` from empty, `preview` with no changes, and `destroy`, through the
 *     Automation API and the real engine (engine time, not gantry's own overhead);
 *   - whole deploys through the CLI: wall time and AWS API calls by API;
 *   - failure detection → rollback call, and gantry's own overhead per deploy (bench/pipeline.ts);
 *   - AWS calls per second of the gates with 1, 2, 5 and 10 services (bench/rate.ts);
 *   - time before the first UpdateService when the stack has no change (bench/first.ts).
 *
 * Results: bench/results.md (for people) and bench/results/latest.json (the numbers). Parts can be
 * run alone — `node bench/run.ts calls pipeline rate` (of: load, stack, calls, pipeline, rate, first) —
 * and then print their figures and write bench/results/partial.json, leaving results.md as it is.
 * What follows the line `<!-- kept by bench/run.ts -->` in results.md is kept when it is rewritten.
 *
 * Noise: a fixed CPU-bound loop is timed before and after; its spread is reported beside the
 * results so a reader can tell a regression from a busy machine.
 */
import { runtimePaths } from "../src/config/runtime.ts";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ReportEvent, Reporter } from "../src/reporting/reporter.ts";
import { startSandbox, stopSandbox } from "../src/sandbox/process.ts";
import { openEnvironment } from "../src/app/environment.ts";
import { projectRoot, toolsDir } from "../src/tools/paths.ts";
import { loadStats, measureLoad } from "./load.ts";
import { benchFirstUpdate, type FirstUpdateResults } from "./first.ts";
import { benchPipeline, type PipelineResults } from "./pipeline.ts";
import { benchRate, type GatesCalls, ratesOf } from "./rate.ts";
import { noiseLoop, type Stat, summarize } from "./stats.ts";

const PARTS = ["load", "stack", "calls", "pipeline", "rate", "first"] as const;
const asked = process.argv.slice(2);
for (const part of asked) {
  if (!(PARTS as readonly string[]).includes(part)) {
    throw new Error(`bench: unknown part ${part} (parts: ${PARTS.join(", ")})`);
  }
}
const whole = asked.length === 0;
const want = (part: (typeof PARTS)[number]): boolean => whole || asked.includes(part);
const KEPT = "<!-- kept by bench/run.ts -->";

async function time(fn: () => unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const quiet: Reporter = { emit: (_e: ReportEvent) => undefined };
const results: Stat[] = [];
const noiseBefore = Array.from({ length: 5 }, noiseLoop);

// 1. module loading: `gantry --help` cold start and the cold import of the deploy modules.
const load = want("load") ? loadStats(measureLoad()) : [];
results.push(...load);

// 2. sandbox start, 3. stack up / preview / destroy
const sandboxStart: number[] = [];
const up: number[] = [];
const preview: number[] = [];
const destroy: number[] = [];
for (let i = 0; i < (want("stack") ? 3 : 0); i++) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-bench-"));
  try {
    sandboxStart.push(await time(() => startSandbox({ stateDir: dir, toolsDir, log: () => undefined })));
    const paths = runtimePaths({ GANTRY_SANDBOX_DIR: dir });
    const { stack } = await openEnvironment({ paths, reporter: quiet }, "sandbox");
    up.push(await time(() => stack.up()));
    preview.push(await time(() => stack.preview()));
    destroy.push(await time(() => stack.destroy()));
  } finally {
    await stopSandbox(dir);
    await rm(dir, { recursive: true, force: true });
  }
}
if (want("stack")) {
  results.push(summarize("sandbox start → healthy", sandboxStart));
  results.push(summarize("sandbox stack up from empty (15 resources)", up));
  results.push(summarize("sandbox stack preview, no changes", preview));
  results.push(summarize("sandbox stack destroy", destroy));
}

// 4. whole deploys through the CLI on a sandbox of their own (rollout 2 s, bake 5 s from
// Pulumi.sandbox.yaml): wall time and AWS API calls per successful deploy, by API.
const deployWall: number[] = [];
const calls: Record<string, number[]> = {};
if (want("calls")) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-bench-deploy-"));
  const env = { ...process.env, GANTRY_SANDBOX_DIR: dir };
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [path.join(projectRoot, "bin", "gantry.js"), ...args], {
      env,
      encoding: "utf8",
    });
  try {
    cli("sandbox", "start", "--rollout-seconds", "2", "--snapshot-seconds", "1", "--task-seconds", "1");
    cli("sandbox", "image", "b1", "b2", "b3", "b4");
    cli("deploy", "--env", "sandbox", "--tag", "b1"); // creates the stack: not measured
    for (const tag of ["b2", "b3", "b4"]) {
      const t = performance.now();
      const res = cli("deploy", "--env", "sandbox", "--tag", tag);
      if (res.status !== 0) throw new Error(`bench deploy of ${tag} failed: ${res.stderr.slice(-500)}`);
      deployWall.push(performance.now() - t);
      const line = /AWS API calls: (\d+) \((.*)\)/.exec(res.stderr);
      calls.total = [...(calls.total ?? []), Number(line?.[1] ?? NaN)];
      for (const part of (line?.[2] ?? "").split(", ")) {
        const [name, n] = part.split("=");
        if (name) calls[name] = [...(calls[name] ?? []), Number(n)];
      }
    }
  } finally {
    cli("sandbox", "stop");
    await rm(dir, { recursive: true, force: true });
  }
}
if (want("calls")) {
  results.push(summarize("deploy, sandbox, 2 services, snapshot + migration + 5 s bake (wall)", deployWall));
}

// 5. failure detection → rollback call, and gantry's own overhead (in-process deploys).
const RUNS = Number(process.env.GANTRY_BENCH_RUNS ?? 7);
const pipeline: PipelineResults | undefined = want("pipeline") ? await benchPipeline(RUNS) : undefined;
const detection = Object.entries(pipeline?.detection ?? {}).map(([kind, samples]) =>
  summarize(`failure detection → rollback: ${kind}`, samples),
);
results.push(...detection);
const [helpStat, coldImportStat] = load;
if (pipeline) {
  results.push(summarize("rollback (release undo) until verified", pipeline.rollbackMs));
  // Each deploy pays one cold start: add the median cold import (with the compile cache gantry
  // enables) to every deploy's busy time.
  const coldImport = coldImportStat?.median ?? NaN;
  const own = pipeline.overhead.busyMs.map((b) => b + coldImport);
  results.push(summarize("deploy wall time, in-process (2 services, 5 s bake)", pipeline.overhead.wallMs));
  results.push(summarize("gantry busy time outside the stack step", pipeline.overhead.busyMs));
  results.push(
    summarize("busy time in the stack step (inline program + engine events)", pipeline.overhead.stackBusyMs),
  );
  results.push(summarize("gantry's own overhead per deploy (busy + cold import)", own));
}

// 6. AWS calls per second of the gates step, by number of services (in-process deploys).
const SERVICE_COUNTS = [1, 2, 5, 10];
const RATE_RUNS = 3;
const rate: GatesCalls[] = want("rate") ? await benchRate(SERVICE_COUNTS, RATE_RUNS) : [];
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const r1 = (x: number): string => (Math.round(x * 10) / 10).toFixed(1);
const rateRows = SERVICE_COUNTS.flatMap((n) => {
  const runs = rate.filter((g) => g.services === n);
  if (!runs.length) return [];
  const rates = runs.map(ratesOf);
  const ecs = rates.map((r) => r.ecs);
  return [
    {
      services: n,
      ecs: median(ecs),
      ecsMin: Math.min(...ecs),
      ecsMax: Math.max(...ecs),
      elb: median(rates.map((r) => r.elb)),
      alarms: median(rates.map((r) => r.alarms)),
      all: median(rates.map((r) => r.all)),
      gatesMs: median(runs.map((g) => g.gatesMs)),
      deployCalls: median(runs.map((g) => g.deployCalls)),
    },
  ];
});

// 7. time before the first UpdateService, no change to the stack (CLI deploys, default speeds).
const FIRST_RUNS = 5;
const first: FirstUpdateResults | undefined = want("first") ? await benchFirstUpdate(FIRST_RUNS) : undefined;
const firstBudgetMs = first ? 1300 * (first.snapshotSeconds + first.taskSeconds) : NaN;
if (first)
  results.push(
    summarize(
      "spawn of gantry deploy → first UpdateService, stack unchanged",
      first.runs.map((r) => r.toUpdateMs),
    ),
  );
const firstSteps = ["preflight", "stack", "snapshot", "migrate"].map((name) => ({
  name,
  duration: median(first?.runs.map((r) => r.steps[name] ?? NaN) ?? []),
  start: median(first?.runs.map((r) => r.startedAt[name] ?? NaN) ?? []),
}));

const noiseAfter = Array.from({ length: 5 }, noiseLoop);
const noise = summarize("noise: fixed CPU loop", [...noiseBefore, ...noiseAfter]);
const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load: os.loadavg() },
  noise,
  results,
  pipelineNotes: pipeline?.notes ?? [],
  apiCallsPerDeploy: Object.fromEntries(
    Object.entries(calls).map(([k, v]) => [k, v.sort((a, b) => a - b)[1] ?? v[0]]),
  ),
  apiCallsPerDeployRuns: calls,
  gatesCallsByServices: rate,
  firstUpdate: first,
};
await mkdir(path.join(projectRoot, "bench", "results"), { recursive: true });
await writeFile(
  path.join(projectRoot, "bench", "results", whole ? "latest.json" : "partial.json"),
  `${JSON.stringify(report, null, 2)}\n`,
);
const byName = (prefix: string): Stat | undefined => results.find((r) => r.name.startsWith(prefix));
const worstDetection = detection.reduce<Stat | undefined>((a, b) => (!a || b.p95 > a.p95 ? b : a), undefined);
const ownStat = byName("gantry's own overhead");
const md = [
  "# Benchmark results",
  "",
  `Run ${report.date} with \`${whole ? "npm run bench" : `node bench/run.ts ${asked.join(" ")}`}\` (${String(RUNS)} repetitions of each pipeline measure).`,
  `Machine: ${String(report.machine.cpus)} CPUs (${report.machine.model ?? "?"}), Node ${report.machine.node}, load ${report.machine.load.map((l) => l.toFixed(2)).join(" ")}.`,
  `Noise (fixed CPU loop, ${String(noise.runs)} runs): median ${String(noise.median)} ms, min ${String(noise.min)}, max ${String(noise.max)} (spread ${((100 * (noise.max - noise.min)) / noise.median).toFixed(0)} %).`,
  "",
  "## The figures (issues #3 and #10)",
  "",
  "| figure | result | target |",
  "| --- | --- | --- |",
  `| (a) failure detection → rollback call, p95 (worst kind: ${worstDetection?.name.replace("failure detection → rollback: ", "") ?? "not run"}) | ${String(worstDetection?.p95 ?? NaN)} ms (median ${String(worstDetection?.median ?? NaN)}) | ≤ 2500 ms |`,
  `| (b) gantry's own overhead per successful deploy, median | ${String(ownStat?.median ?? NaN)} ms (p95 ${String(ownStat?.p95 ?? NaN)}) | ≤ 3000 ms |`,
  `| (c) AWS API calls per successful deploy | ${String(report.apiCallsPerDeploy.total ?? NaN)} (by API below) | counted |`,
  `| (d) \`gantry --help\` cold start, median | ${String(helpStat?.median ?? NaN)} ms (p95 ${String(helpStat?.p95 ?? NaN)}) | ≤ 250 ms |`,
  `| (e) cold import of the deploy modules, median | ${String(coldImportStat?.median ?? NaN)} ms (p95 ${String(coldImportStat?.p95 ?? NaN)}) | ≤ 600 ms |`,
  "",
  "How (a) and (b) are measured (bench/pipeline.ts): deploys run in-process through the same code as",
  "`gantry deploy`. (a) starts when the sandbox flips state — the health endpoint to 500 when the new",
  "deployment completes, an alarm-faulty image's alarm firing as its deployment completes, a",
  "rollout-faulty deployment turning FAILED at c+R — and ends at gantry's rollback UpdateService call",
  "(for FAILED rollouts ECS rolls back by itself, so it ends when gantry's gates fail on it). (b) is",
  "the event loop's busy time (wall time minus waiting on AWS, the Pulumi engine and poll intervals)",
  "outside the stack step, plus (e). (d) and (e) (bench/load.ts) are fresh Node processes with the",
  "compile cache bin/gantry.js enables, filled by one uncounted run: what every command after the",
  "first one pays; the first run after an install or an edit pays the 'no compile cache' rows.",
  ...(pipeline?.notes ?? []).map((n) => `Setup: ${n}.`),
  "",
  "## All measures",
  "",
  "| measure | runs | median ms | p95 ms | min | max |",
  "| --- | ---: | ---: | ---: | ---: | ---: |",
  ...results.map(
    (r) =>
      `| ${r.name} | ${String(r.runs)} | ${String(r.median)} | ${String(r.p95)} | ${String(r.min)} | ${String(r.max)} |`,
  ),
  "",
  "AWS API calls per successful CLI deploy (median of 3; 2 services, snapshot, migration, 5 s bake, 1 s polling):",
  "",
  "| API | calls |",
  "| --- | ---: |",
  ...Object.entries(report.apiCallsPerDeploy).map(([k, v]) => `| ${k} | ${String(v)} |`),
  "",
  `AWS calls of the gates step (rollout watch + 5 s bake) by number of services (median of ${String(RATE_RUNS)} in-process deploys each, 2 tasks a service, rollout 2 s, 1 s polling; bench/rate.ts):`,
  "",
  "| services | ECS calls/s (min–max) | ELB calls/s | CloudWatch calls/s | all calls/s | gates step s | calls per deploy |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rateRows.map(
    (r) =>
      `| ${String(r.services)} | ${r1(r.ecs)} (${r1(r.ecsMin)}–${r1(r.ecsMax)}) | ${r1(r.elb)} | ${r1(r.alarms)} | ${r1(r.all)} | ${r1(r.gatesMs / 1000)} | ${String(r.deployCalls)} |`,
  ),
  "",
  ...(first
    ? [
        `Time before the first UpdateService, stack unchanged (median of ${String(first.runs.length)} CLI deploys; sandbox snapshot ${String(first.snapshotSeconds)} s, migration task ${String(first.taskSeconds)} s; bench/first.ts): **${r1((byName("spawn of gantry deploy") ?? { median: NaN }).median / 1000)} s**, target ≤ 1.3 × ${String(first.snapshotSeconds + first.taskSeconds)} s = ${r1(firstBudgetMs / 1000)} s. Steps (start after spawn → duration):`,
        "",
        "| step | starts at s | takes s |",
        "| --- | ---: | ---: |",
        ...firstSteps.map((s) => `| ${s.name} | ${r1(s.start / 1000)} | ${r1(s.duration / 1000)} |`),
        "",
      ]
    : []),
].join("\n");
if (whole) {
  const file = path.join(projectRoot, "bench", "results.md");
  const previous = await readFile(file, "utf8").catch(() => "");
  const kept = previous.includes(KEPT) ? previous.slice(previous.indexOf(KEPT)) : "";
  await writeFile(file, kept ? `${md}\n${kept}` : md);
}
process.stdout.write(md);
