/**
 * THE builder of a DeployContext for unit tests: the fakes of test/fakes/ports.ts, a real
 * DeployLock, Journal and Ledger over an in-memory store, a recording reporter, config parsed by
 * the real schema, and fast timing. When DeployContext gains a field, give it a default here.
 * Journals go to a temporary folder that is removed after the test file (afterAll).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll } from "vitest";
import type { z } from "zod";
import type { EnvironmentName } from "../../src/config/environments.ts";
import { type EnvironmentConfig, gantryConfigSchema, stackConfigSchema } from "../../src/config/schema.ts";
import { Journal } from "../../src/orchestrator/journal.ts";
import { Ledger } from "../../src/orchestrator/ledger.ts";
import { DeployLock } from "../../src/orchestrator/lock.ts";
import type { ReportEvent, Reporter } from "../../src/reporting/reporter.ts";
import type { ResolvedImage } from "../../src/aws/ports.ts";
import {
  type DeployContext,
  type DeployFacts,
  type DeployRequest,
  type DeployTiming,
  targetsOf,
} from "../../src/steps/context.ts";
import { MemoryStore } from "./memory-store.ts";
import {
  fakeEnvironment,
  type FakeAlarms,
  type FakeEcs,
  type FakeElb,
  type FakeEnvironment,
  type FakeEnvironmentOptions,
  type FakeImages,
  type FakeHttp,
  type FakeLogs,
  type FakeRds,
  type FakeStack,
} from "./ports.ts";

/** A reporter that keeps every event. */
export class RecordingReporter implements Reporter {
  readonly events: ReportEvent[] = [];

  emit(event: ReportEvent): void {
    this.events.push(event);
  }

  /** Messages of the info, warn or progress events of one type. */
  messages(type: "info" | "warn" | "progress"): string[] {
    return this.events.flatMap((e) => (e.type === type ? [e.message] : []));
  }
}

/** What to change from the defaults. */
export interface FakeContextOverrides {
  readonly request?: Partial<DeployRequest>;
  /** `gantry:` keys, shallow-merged over the test defaults, then parsed by the real schema. */
  readonly gantry?: z.input<typeof gantryConfigSchema>;
  readonly timing?: Partial<DeployTiming>;
  readonly environment?: FakeEnvironmentOptions;
  /** false: the requested tag is not pushed to the registry. */
  readonly pushTag?: boolean;
  /** `platform:services[].image` by service (default: every service from the one repository). */
  readonly serviceImages?: Readonly<Record<string, string>>;
  /** true: the facts preflight and the stack step establish (outputs, image) are already known. */
  readonly established?: boolean;
  readonly facts?: Partial<DeployFacts>;
  /** The shared store of lock, ledger and journal (default: a fresh MemoryStore). */
  readonly store?: MemoryStore;
}

/** A DeployContext whose ports are the fakes, with handles on everything behind it. */
export interface FakeDeployContext extends DeployContext {
  readonly ports: {
    readonly ecs: FakeEcs;
    readonly images: FakeImages;
    readonly rds: FakeRds;
    readonly elb: FakeElb;
    readonly alarms: FakeAlarms;
    readonly http: FakeHttp;
    readonly logs: FakeLogs;
  };
  readonly stack: FakeStack;
  readonly reporter: RecordingReporter;
  /** The emulated environment (call log, outputs, health faults…). */
  readonly fake: FakeEnvironment;
  /** The shared store of lock, ledger and journal copies. */
  readonly store: MemoryStore;
  /** Processes alive on this host, as the lock sees them (default: this deploy's pid). */
  readonly alivePids: Set<number>;
  readonly journalDir: string;
}

/** Defaults of the `gantry:` config in unit tests: every step on, no bake window. */
export const TEST_GANTRY: z.input<typeof gantryConfigSchema> = {
  snapshot: { enabled: true, retention: 3 },
  migration: { command: ["npm", "run", "migrate"], timeoutSeconds: 5 },
  bakeSeconds: 0,
};

/** Fast timing: polls every 5 ms (the poller's floor is 10 ms), deadlines of a second or two. */
export const TEST_TIMING: DeployTiming = {
  pollIntervalMs: 5,
  snapshotTimeoutMs: 2000,
  rolloutTimeoutMs: 2000,
  httpTimeoutMs: 100,
};

const journalDirs: string[] = [];
afterAll(() => {
  for (const dir of journalDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What preflight would have resolved for `request`: each released service's image at its tag. */
function resolvedImages(
  fake: FakeEnvironment,
  request: DeployRequest,
  config: EnvironmentConfig,
): Map<string, ResolvedImage> {
  return new Map(
    targetsOf(request, config).map((t) => {
      const service = config.stack.services.find((s) => s.name === t.name);
      return [t.name, fake.images.image(t.tag, undefined, service?.image ?? fake.images.repository)];
    }),
  );
}

/** A deploy of `v2.0.0` to a sandbox environment that runs `v1.0.0` (services web and api). */
export function fakeDeployContext(overrides: FakeContextOverrides = {}): FakeDeployContext {
  const env: EnvironmentName = overrides.request?.env ?? overrides.environment?.env ?? "sandbox";
  const fake = fakeEnvironment({ ...overrides.environment, env });
  const request: DeployRequest = {
    env,
    tag: "v2.0.0",
    deploymentId: "20261122T100000Z-a1b2c3",
    actor: "ana",
    host: "runner-1",
    pid: 4242,
    startedAt: "2026-11-22T10:00:00.000Z",
    skipSnapshot: false,
    skipMigrations: false,
    ...overrides.request,
  };
  const imageOf = (service: string): string => overrides.serviceImages?.[service] ?? fake.images.repository;
  if (overrides.pushTag !== false) {
    for (const name of new Set(fake.outputs.services.map((s) => imageOf(s.name)))) {
      fake.images.push(request.tag, request.tag, name);
    }
  }
  const config: EnvironmentConfig = {
    env,
    file: `Pulumi.${env}.yaml`,
    region: "eu-west-1",
    stack: stackConfigSchema.parse({
      services: fake.outputs.services.map((s) => ({
        name: s.name,
        ...(overrides.serviceImages?.[s.name] ? { image: overrides.serviceImages[s.name] } : {}),
      })),
      repositoryName: fake.images.repository,
    }),
    gantry: gantryConfigSchema.parse({ ...TEST_GANTRY, ...overrides.gantry }),
    pulumiConfig: {},
  };
  const store = overrides.store ?? new MemoryStore();
  const alivePids = new Set([request.pid]);
  const journalDir = mkdtempSync(path.join(os.tmpdir(), "gantry-steps-"));
  journalDirs.push(journalDir);
  const facts: DeployFacts = {
    baselineAlarms: new Set<string>(),
    releases: [],
    ...(overrides.established
      ? { outputs: fake.outputs, images: resolvedImages(fake, request, config) }
      : {}),
    ...overrides.facts,
  };
  return {
    request,
    config,
    ports: {
      ecs: fake.ecs,
      images: fake.images,
      rds: fake.rds,
      elb: fake.elb,
      alarms: fake.alarms,
      http: fake.http,
      logs: fake.logs,
    },
    stack: fake.stack,
    lock: new DeployLock(store, env, {
      now: () => Date.now(),
      host: request.host,
      isAlive: (pid) => alivePids.has(pid),
    }),
    journal: new Journal(journalDir, env, request.deploymentId, store),
    ledger: new Ledger(store),
    reporter: new RecordingReporter(),
    timing: { ...TEST_TIMING, ...overrides.timing },
    facts,
    fake,
    store,
    alivePids,
    journalDir,
  };
}

/**
 * Another deployment to the environment of `ctx`, in the same world: the same fakes, store,
 * journal folder, lock and ledger, with its own request (merged over that of `ctx`), journal,
 * reporter and fresh facts — e.g. a deployment that dies while `ctx` is the one that recovers it.
 */
export function fakeSiblingContext(
  ctx: FakeDeployContext,
  request: Partial<DeployRequest> & Pick<DeployRequest, "deploymentId">,
  options: { readonly established?: boolean } = {},
): FakeDeployContext {
  const mine: DeployRequest = { ...ctx.request, ...request };
  return {
    ...ctx,
    request: mine,
    journal: ctx.journal.sibling(mine.deploymentId),
    reporter: new RecordingReporter(),
    facts: {
      baselineAlarms: new Set<string>(),
      releases: [],
      ...(options.established
        ? { outputs: ctx.fake.outputs, images: resolvedImages(ctx.fake, mine, ctx.config) }
        : {}),
    },
  };
}
