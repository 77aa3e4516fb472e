/**
 * The failure modes of `gantry deploy` that happen before or around the release, on the sandbox
 * through the real CLI: the stack update failing, the snapshot and migration deadlines, SIGINT
 * during the stack, snapshot and migrate steps, SIGKILL and recovery (by the next deploy, and by
 * `gantry unlock`), and bad input. Each asserts the exit code, the record/journal, and the ground
 * truth: the service on exactly the old or the new task definition, never a mix, and the lock free.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  DescribeTasksCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { parse, stringify } from "yaml";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { S3Store } from "../../src/aws/store.ts";
import type { JournalEntry } from "../../src/orchestrator/journal.ts";
import { Ledger } from "../../src/orchestrator/ledger.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import type { DeploymentRecord } from "../../src/steps/record.ts";
import { SANDBOX_STATE_BUCKET } from "../../src/app/environment.ts";
import { projectRoot } from "../../src/tools/paths.ts";
import { type CliRun, cliEnvironment, runGantry } from "../helpers/cli.ts";
import {
  deployJson,
  expectServing as expectServingOn,
  expectUnlocked as expectUnlockedOn,
  sandboxLock,
  publishSandboxImages,
} from "../helpers/scenario.ts";

const endpoint = workerSandbox().endpoint;
const CLUSTER = "gantry-sandbox";
const SERVICES = ["api", "web"] as const;
const SPEEDS = { rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 };

describe("gantry deploy failure modes and recovery on the sandbox", () => {
  let stateDir: string;
  let configDir: string;
  let aws: AwsClients;
  let ecs: EcsAdapter;
  const control = new SandboxControl(endpoint);
  const suffix = Math.random().toString(36).slice(2, 6);
  const [vBase, vNext, vAfter] = ["f-base", "f-next", "f-after"].map((t) => `${t}-${suffix}`) as [
    string,
    string,
    string,
  ];
  let serving = vBase;

  const env = (): NodeJS.ProcessEnv => ({
    GANTRY_SANDBOX_DIR: stateDir,
    GANTRY_CONFIG_DIR: configDir,
    USER: "scenario",
  });
  const gantry = (...args: string[]): Promise<CliRun> => runGantry(env(), ...args);

  const deploy = (tag: string, ...extra: string[]) => deployJson(gantry, tag, ...extra);

  /** A deploy in the background, to signal once its stderr shows `marker`. */
  function background(tag: string, ...extra: string[]) {
    const child: ChildProcessWithoutNullStreams = spawn(
      process.execPath,
      [path.join(projectRoot, "bin", "gantry.js"), "deploy", "--env", "sandbox", "--tag", tag, ...extra],
      { env: cliEnvironment(env()), stdio: "pipe" },
    );
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    return {
      child,
      exited,
      output: () => ({ stdout, stderr }),
      waitFor: (marker: string | RegExp) =>
        new Promise<void>((resolve, reject) => {
          const check = (): void => {
            if (typeof marker === "string" ? stderr.includes(marker) : marker.test(stderr)) resolve();
          };
          child.stderr.on("data", (d: Buffer) => {
            stderr += d.toString();
            check();
          });
          child.on("close", () => {
            reject(new Error(`exited before "${String(marker)}":\n${stderr}`));
          });
        }),
    };
  }

  /** What "nothing changed" is checked against: services, task definitions, tasks, ledger, lock. */
  async function groundTruth() {
    const services = [];
    for (const name of SERVICES) {
      const s = await ecs.describeService(CLUSTER, name);
      services.push({
        name,
        taskDefinition: s?.taskDefinition,
        deployments: s?.deployments.map((d) => d.id),
      });
    }
    const families = await aws.ecs.send(new ListTaskDefinitionsCommand({ maxResults: 100 }));
    // Read the ledger directly: the CLI would refuse a malformed config before listing it.
    const ledger = new Ledger(new S3Store(aws.s3, SANDBOX_STATE_BUCKET, "gantry"));
    return {
      services,
      taskDefinitions: families.taskDefinitionArns ?? [],
      ledger: (await ledger.list("sandbox", 1000)).map((r) => r.id),
    };
  }

  const expectServing = (tag: string) => expectServingOn(aws, SERVICES, tag);
  const expectUnlocked = () => expectUnlockedOn(aws);

  async function journalOf(id: string): Promise<JournalEntry[]> {
    const text = await readFile(path.join(stateDir, "journal", "sandbox", `${id}.jsonl`), "utf8");
    return text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as JournalEntry);
  }

  /** The migration tasks a deployment started, as ECS reports them. */
  async function migrationTasks(deploymentId: string) {
    const arns = [];
    for (const desiredStatus of ["RUNNING", "STOPPED"] as const) {
      const res = await aws.ecs.send(
        new ListTasksCommand({ cluster: CLUSTER, startedBy: `gantry/${deploymentId}`, desiredStatus }),
      );
      arns.push(...(res.taskArns ?? []));
    }
    if (!arns.length) return [];
    const res = await aws.ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }));
    return res.tasks ?? [];
  }

  async function writeConfig(change: (config: Record<string, unknown>) => void): Promise<void> {
    const doc = parse(await readFile(path.join(projectRoot, "Pulumi.sandbox.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    change(doc.config);
    await writeFile(path.join(configDir, "Pulumi.sandbox.yaml"), stringify(doc));
  }
  const baseConfig = (c: Record<string, unknown>): void => {
    c["gantry:migration"] = { command: ["npm", "run", "migrate"], timeoutSeconds: 4 };
    c["gantry:snapshot"] = { enabled: true, retention: 3, timeoutSeconds: 4 };
    c["gantry:bakeSeconds"] = 3;
  };

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-failures-"));
    configDir = path.join(stateDir, "config");
    await mkdir(configDir);
    await copyFile(path.join(workerSandbox().dir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
    await writeConfig(baseConfig);
    aws = createAwsClients({ region: "us-east-1", endpoint });
    ecs = new EcsAdapter(aws.ecs);
    await control.setSpeeds(SPEEDS);
    await publishSandboxImages(control, [vBase, vNext, vAfter]);
    const first = await deploy(vBase, "--skip-snapshot");
    expect(first.code, first.stderr).toBe(0);
  }, 180_000);

  afterEach(async () => {
    await control.setSpeeds(SPEEDS);
    await writeConfig(baseConfig);
  });

  afterAll(async () => {
    const destroyed = await gantry("stack", "destroy", "--env", "sandbox");
    aws.destroy();
    await rm(stateDir, { recursive: true, force: true });
    expect(destroyed.code, destroyed.stderr).toBe(0);
  }, 120_000);

  describe("failures before the release: exit 1, nothing released", () => {
    it("GIVEN a stale Pulumi update lock WHEN deployed THEN the stack step fails with the exact next command, nothing released, lock free", async () => {
      const lockDir = path.join(
        stateDir,
        "pulumi",
        ".pulumi",
        "locks",
        "organization",
        "platform",
        "sandbox",
      );
      await mkdir(lockDir, { recursive: true });
      const lockFile = path.join(lockDir, "0d0e6a76-gantry-test.json");
      await writeFile(
        lockFile,
        JSON.stringify({
          pid: 999_999,
          username: "ci",
          hostname: "gone",
          timestamp: new Date().toISOString(),
        }),
      );
      try {
        const before = await groundTruth();
        const run = await deploy(vNext, "--skip-snapshot");
        expect(run.code, run.stderr).toBe(1);
        expect(run.record.status).toBe("failed");
        expect(run.record.steps.map((s) => [s.name, s.status])).toEqual([
          ["preflight", "succeeded"],
          ["stack", "failed"],
        ]);
        expect(run.stderr).toMatch(
          /stack sandbox is locked by another update\n {2}hint: .*pulumi cancel -s sandbox/,
        );
        const after = await groundTruth();
        expect(after.services).toEqual(before.services);
        expect(after.taskDefinitions).toEqual(before.taskDefinitions);
        await expectServing(serving);
        await expectUnlocked();
      } finally {
        await rm(lockFile, { force: true });
      }
    });

    it("GIVEN a snapshot slower than its deadline WHEN deployed THEN exit 1 SNAPSHOT_TIMEOUT, nothing released", async () => {
      await control.setSpeeds({ snapshotSeconds: 60 });
      const before = await groundTruth();
      const run = await deploy(vNext, "--skip-migrations");
      expect(run.code, run.stderr).toBe(1);
      expect(run.record.steps.find((s) => s.name === "snapshot")).toMatchObject({ status: "failed" });
      expect(run.record.steps.find((s) => s.name === "snapshot")?.detail).toMatch(
        /not available after \d+ s/,
      );
      expect(run.record.steps.map((s) => s.name)).not.toContain("release");
      expect((await groundTruth()).services).toEqual(before.services);
      await expectServing(serving);
      await expectUnlocked();
    });

    it("GIVEN a migration slower than its timeout WHEN deployed THEN exit 1 MIGRATION_TIMEOUT, its task stopped, nothing released", async () => {
      await control.setSpeeds({ taskSeconds: 60 });
      const before = await groundTruth();
      const run = await deploy(vNext, "--skip-snapshot");
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/migration did not finish within 4 s: its task was stopped/);
      const tasks = await migrationTasks(run.record.id);
      expect(tasks.map((t) => [t.lastStatus, t.stoppedReason])).toEqual([
        ["STOPPED", "gantry: migration timed out"],
      ]);
      expect((await groundTruth()).services).toEqual(before.services);
      await expectServing(serving);
      await expectUnlocked();
    });
  });

  describe("SIGINT: exit 130, aborted, nothing left half done", () => {
    it.each([
      ["stack", "… stack…", [] as string[]],
      ["snapshot", "… snapshot…", ["--skip-migrations"]],
      ["migrate", "migration task", ["--skip-snapshot"]],
    ])(
      "GIVEN a deploy in its %s step WHEN it gets SIGINT THEN exit 130, journal says aborted, nothing released, lock free",
      async (step, marker, extra) => {
        await control.setSpeeds({ snapshotSeconds: 60, taskSeconds: 60 });
        const before = await groundTruth();
        const run = background(vNext, ...extra);
        await run.waitFor(marker);
        run.child.kill("SIGINT");
        const code = await run.exited;
        const { stdout, stderr } = run.output();
        expect(code, stderr).toBe(130);
        // The summary a person reads, then the record the ledger keeps.
        expect(stdout).toMatch(/^deploy \S+ to sandbox: aborted in .+ — interrupted; cancelled cleanly$/m);
        const record = (
          JSON.parse(
            (await gantry("history", "--env", "sandbox", "--limit", "1", "--json")).stdout,
          ) as DeploymentRecord[]
        )[0];
        if (!record) throw new Error("no record in the ledger");
        expect(stdout).toContain(`  id       ${record.id} by `);
        expect(record.status).toBe("aborted");
        expect(record.steps.find((s) => s.name === step)?.status).toBe("failed");
        expect(record.steps.map((s) => s.name)).not.toContain("release");
        const journal = await journalOf(record.id);
        expect(journal.at(-1)).toMatchObject({ event: "finish", status: "aborted" });
        if (step === "migrate") {
          const tasks = await migrationTasks(record.id);
          expect(tasks.map((t) => [t.lastStatus, t.stoppedReason])).toEqual([
            ["STOPPED", "gantry: deploy interrupted"],
          ]);
        }
        expect((await groundTruth()).services).toEqual(before.services);
        await expectServing(serving);
        await expectUnlocked();
      },
    );
  });

  describe("SIGKILL: the journal lets the next deploy or gantry unlock recover", () => {
    it("GIVEN a deploy killed in its gates WHEN the next deploy starts THEN it rolls the abandoned release back (verified), records it, and deploys", async () => {
      await control.setSpeeds({ rolloutSeconds: 4 });
      const killed = background(vNext, "--skip-snapshot", "--skip-migrations");
      await killed.waitFor("… gates…");
      killed.child.kill("SIGKILL");
      await killed.exited;
      // The dead process still holds the lock, naming its deployment; its journal has no finish.
      const abandoned = (await sandboxLock(aws).holder())?.holder.deploymentId ?? "";
      expect(await journalIds()).toContain(abandoned);
      expect((await journalOf(abandoned)).some((e) => e.event === "finish")).toBe(false);

      const next = await deploy(vAfter, "--skip-snapshot", "--skip-migrations");
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toContain(`took over the lock of deployment ${abandoned}`);
      expect(next.stderr).toContain(`recovering abandoned deployment ${abandoned}`);
      serving = vAfter;
      await expectServing(vAfter);
      await expectUnlocked();

      const history = JSON.parse(
        (await gantry("history", "--env", "sandbox", "--json")).stdout,
      ) as DeploymentRecord[];
      const record = history.find((r) => r.id === abandoned);
      expect(record).toMatchObject({ status: "rolled_back", tag: vNext, previous: { tag: vBase } });
      expect(record?.steps.find((s) => s.name === "recovery")).toMatchObject({ status: "succeeded" });
      expect(record?.steps.find((s) => s.name === "gates")).toMatchObject({ status: "abandoned" });
      expect((await journalOf(abandoned)).at(-1)).toMatchObject({ event: "finish", status: "rolled_back" });
    });

    it("GIVEN a deploy killed during its migration WHEN gantry unlock runs THEN the task is stopped, the ledger records it aborted, the lock is free", async () => {
      await control.setSpeeds({ taskSeconds: 60 });
      const before = await groundTruth();
      const killed = background(vNext, "--skip-snapshot");
      await killed.waitFor("migration task");
      killed.child.kill("SIGKILL");
      await killed.exited;
      const abandoned = (await sandboxLock(aws).holder())?.holder.deploymentId ?? "";
      expect(await journalIds()).toContain(abandoned);

      const unlock = await gantry("unlock", "--env", "sandbox", "--json");
      expect(unlock.code, unlock.stderr).toBe(0);
      const result = JSON.parse(unlock.stdout) as {
        released: boolean;
        why: string;
        recovery: { status: string; actions: string[] };
      };
      expect(result.released).toBe(true);
      expect(result.why).toMatch(/is gone/);
      expect(result.recovery.status).toBe("aborted");
      expect(result.recovery.actions.join("; ")).toMatch(/stopped migration task/);
      const tasks = await migrationTasks(abandoned);
      expect(tasks.map((t) => t.lastStatus)).toEqual(["STOPPED"]);
      expect(tasks[0]?.stoppedReason).toMatch(/gantry: recovering/);
      expect((await groundTruth()).services).toEqual(before.services);
      await expectServing(serving);
      await expectUnlocked();
      const history = JSON.parse(
        (await gantry("history", "--env", "sandbox", "--json")).stdout,
      ) as DeploymentRecord[];
      const record = history.find((r) => r.id === abandoned);
      expect(record).toMatchObject({ status: "aborted", tag: vNext });
      expect(record?.steps.find((s) => s.name === "migrate")).toMatchObject({ status: "abandoned" });
      expect(record?.steps.find((s) => s.name === "recovery")?.detail).toMatch(/stopped migration task/);
      // A second unlock finds the lock free and nothing to recover.
      const again = await gantry("unlock", "--env", "sandbox", "--json");
      expect(JSON.parse(again.stdout)).toMatchObject({ released: false, recovery: null });
    });
  });

  describe("bad input: a one-line cause, a hint, and nothing changed", () => {
    it.each([
      ["an unknown env", ["deploy", "--env", "qa", "--tag", "v1.0.0"], 2, /Invalid values:|Argument: env/],
      ["a malformed tag", ["deploy", "--env", "sandbox", "--tag", "v1 bad"], 2, /invalid image tag "v1 bad"/],
    ])(
      "GIVEN %s WHEN deployed THEN it is refused and nothing changes",
      async (_what, args, code, message) => {
        const before = await groundTruth();
        const run = await gantry(...args);
        expect(run.code, run.stderr).toBe(code);
        expect(run.stderr).toMatch(message);
        expect(run.stderr.trim().split("\n").length).toBeLessThanOrEqual(4);
        expect(await groundTruth()).toEqual(before);
        await expectUnlocked();
      },
    );

    it("GIVEN a malformed Pulumi.sandbox.yaml WHEN deployed THEN exit 1 naming the file and key, nothing changed", async () => {
      await writeConfig((c) => {
        c["gantry:bakeSeconds"] = "soon";
      });
      const before = await groundTruth();
      const run = await gantry("deploy", "--env", "sandbox", "--tag", vNext);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/Pulumi\.sandbox\.yaml.*gantry:bakeSeconds/);
      expect(run.stderr).toMatch(/hint: /);
      expect(await groundTruth()).toEqual(before);
    });

    it("GIVEN a deployment already in progress on the service WHEN deployed THEN exit 1 naming it, nothing changed", async () => {
      await control.setSpeeds({ rolloutSeconds: 30 });
      // Someone else's rolling update (e.g. the console): a new deployment IN_PROGRESS.
      const res = await aws.ecs.send(
        new UpdateServiceCommand({ cluster: CLUSTER, service: "api", forceNewDeployment: true }),
      );
      const busy = res.service?.deployments?.find((d) => d.status === "PRIMARY")?.id ?? "?";
      const before = await groundTruth();
      const run = await gantry("deploy", "--env", "sandbox", "--tag", vNext, "--skip-snapshot");
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(`service api already has a deployment in progress (${busy})`);
      const after = await groundTruth();
      expect(after.services).toEqual(before.services);
      expect(after.taskDefinitions).toEqual(before.taskDefinitions);
      await control.setSpeeds(SPEEDS);
      await expect
        .poll(async () => (await ecs.describeService(CLUSTER, "api"))?.deployments.length, {
          timeout: 60_000,
          interval: 500,
        })
        .toBe(1);
      await expectUnlocked();
    });
  });

  async function journalIds(): Promise<string[]> {
    const { readdir } = await import("node:fs/promises");
    return (await readdir(path.join(stateDir, "journal", "sandbox")))
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => f.replace(/\.jsonl$/, ""))
      .sort();
  }
});
