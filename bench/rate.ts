/**
 * AWS calls of the gates by number of services (DESIGN.md: the per-second rate of ECS calls does
 * not grow with the number of services up to 10). For each count, a sandbox of its own with that
 * many services (a Pulumi.sandbox.yaml of the bench's own, GANTRY_CONFIG_DIR), one deploy that
 * creates the stack, then `runs` measured deploys run in-process (as bench/pipeline.ts does): the
 * AWS calls made during the gates step (rollout watch + bake), by service, per second of it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { stringify } from "yaml";
import { requestFor } from "../src/app/request.ts";
import { deployContext, wireEnvironment } from "../src/app/environment.ts";
import { AwsClientFactory, callsSince } from "../src/aws/factory.ts";
import { runtimePaths } from "../src/config/runtime.ts";
import { SecretMasker } from "../src/reporting/mask.ts";
import type { ReportEvent, Reporter } from "../src/reporting/reporter.ts";
import { SandboxControl } from "../src/sandbox/control.ts";
import { stopSandbox } from "../src/sandbox/process.ts";
import { runDeploy } from "../src/steps/deploy.ts";

/** Who the bench's deploys are by (the lock and the ledger). */
const BENCH_RUNTIME = { actor: "bench", host: os.hostname(), pid: process.pid };

/** Calls of the gates step of one deploy. */
export interface GatesCalls {
  readonly services: number;
  readonly gatesMs: number;
  /** Calls by `Client.Command` during the gates step. */
  readonly calls: Record<string, number>;
  /** Every AWS call of the deploy (snapshot and migration skipped). */
  readonly deployCalls: number;
}

const sum = (calls: Record<string, number>, prefix = ""): number =>
  Object.entries(calls).reduce((n, [k, v]) => (k.startsWith(prefix) ? n + v : n), 0);

/** ECS, ELB, CloudWatch and all calls per second of the gates step. */
export function ratesOf(g: GatesCalls): { ecs: number; elb: number; alarms: number; all: number } {
  const s = g.gatesMs / 1000;
  return {
    ecs: sum(g.calls, "ECS.") / s,
    elb: sum(g.calls, "ElasticLoadBalancingV2.") / s,
    alarms: sum(g.calls, "CloudWatch.") / s,
    all: sum(g.calls) / s,
  };
}

/** Measure `runs` deploys of each service count in `counts`. */
export async function benchRate(counts: readonly number[], runs: number): Promise<GatesCalls[]> {
  const out: GatesCalls[] = [];
  for (const count of counts) out.push(...(await measure(count, runs)));
  return out;
}

async function measure(count: number, runs: number): Promise<GatesCalls[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-bench-rate-"));
  const configDir = await mkdtemp(path.join(os.tmpdir(), "gantry-bench-rate-config-"));
  await writeFile(
    path.join(configDir, "Pulumi.sandbox.yaml"),
    stringify({
      config: {
        "aws:region": "us-east-1",
        "platform:repositoryName": "app",
        "platform:services": Array.from({ length: count }, (_, i) => ({
          name: `svc${String(i + 1)}`,
          containerPort: 8080,
          desiredCount: 2,
          healthCheckPath: "/health",
        })),
        "platform:alarms": ["http-5xx", "unhealthy-hosts"],
        "gantry:bakeSeconds": 5,
        "gantry:deployTimeoutSeconds": 300,
      },
    }),
  );
  const paths = runtimePaths({ GANTRY_SANDBOX_DIR: dir, GANTRY_CONFIG_DIR: configDir });
  const clients = new AwsClientFactory();
  // Gates steps as they end: how long each took and what it called.
  let started = { at: 0, calls: {} as Readonly<Record<string, number>> };
  const gatesSteps: { ms: number; calls: Record<string, number> }[] = [];
  const reporter: Reporter = {
    emit(e: ReportEvent): void {
      if (e.type === "step-start" && e.name === "gates") {
        started = { at: performance.now(), calls: clients.calls() };
      }
      if (e.type === "step-end" && e.name === "gates") {
        gatesSteps.push({
          ms: performance.now() - started.at,
          calls: callsSince(started.calls, clients.calls()),
        });
      }
    },
  };
  const results: GatesCalls[] = [];
  try {
    const wired = await wireEnvironment(
      { paths, reporter, aws: clients, masker: new SecretMasker() },
      "sandbox",
    );
    const control = new SandboxControl(wired.sandbox?.endpoint ?? "");
    await control.setSpeeds({ rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 });
    const tags = Array.from({ length: runs + 1 }, (_, i) => `r${String(i)}`);
    await control.publishImages("app", tags);
    for (const [i, tag] of tags.entries()) {
      const request = requestFor(BENCH_RUNTIME, {
        env: "sandbox",
        tag,
        deploymentId: `rate-${String(count)}-${String(i)}-${tag}`,
        skipSnapshot: true,
        skipMigrations: true,
        skipSmoke: true,
      });
      gatesSteps.length = 0;
      const before = clients.calls();
      const result = await runDeploy(deployContext(wired, request, { paths, reporter }), {
        signal: new AbortController().signal,
      });
      if (result.exitCode !== 0) {
        throw new Error(`bench: deploy of ${String(count)} services exited ${String(result.exitCode)}`);
      }
      // The first deploy creates the stack: not measured.
      const gates = gatesSteps.at(-1);
      if (i > 0 && gates) {
        results.push({
          services: count,
          gatesMs: gates.ms,
          calls: gates.calls,
          deployCalls: sum(callsSince(before, clients.calls())),
        });
      }
    }
  } finally {
    clients.destroy();
    await stopSandbox(dir);
    await rm(dir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
  }
  return results;
}
