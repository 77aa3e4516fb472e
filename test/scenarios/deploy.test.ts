/**
 * `gantry deploy` end to end on the sandbox, through the real CLI: for each scenario the exit
 * code, the final record (--json), the ledger, and the sandbox's ground truth — every service on
 * exactly one task definition (old or new, never a mix), serving the expected version, lock free.
 */
import { spawn } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BatchDeleteImageCommand } from "@aws-sdk/client-ecr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { S3Store } from "../../src/aws/store.ts";
import { DeployLock } from "../../src/orchestrator/lock.ts";
import type { DeploymentRecord } from "../../src/steps/record.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import { projectRoot } from "../../src/tools/paths.ts";
import { type CliRun, cliEnvironment, runGantry } from "../helpers/cli.ts";
import {
  deployJson,
  expectServing as expectServingOn,
  expectUnlocked as expectUnlockedOn,
  publishSandboxImages,
} from "../helpers/scenario.ts";
import { SANDBOX_STATE_BUCKET } from "../../src/app/environment.ts";

const endpoint = workerSandbox().endpoint;
let stateDir: string;

type Run = CliRun;

function gantry(...args: string[]): Promise<Run> {
  return runGantry({ GANTRY_SANDBOX_DIR: stateDir, USER: "scenario" }, ...args);
}

const deploy = (tag: string, ...extra: string[]) => deployJson(gantry, tag, ...extra);

describe("gantry deploy on the sandbox", () => {
  let aws: AwsClients;
  let ecs: EcsAdapter;
  const control = new SandboxControl(endpoint);
  const tags = ["s1", "s2", "s-health", "s-rollout", "s-version", "s-alarm", "s-migration", "s-ok"].map(
    (t) => `${t}-${Math.random().toString(36).slice(2, 6)}`,
  );
  const [v1, v2, vHealth, vRollout, vVersion, vAlarm, vMigration, vOk] = tags as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];

  const expectServing = (tag: string) => expectServingOn(aws, ["api", "web"], tag);
  const expectUnlocked = () => expectUnlockedOn(aws);

  beforeAll(async () => {
    // Our own Pulumi state and workspace, sharing the suite's sandbox process through its record.
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-scenarios-"));
    await copyFile(path.join(workerSandbox().dir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
    aws = createAwsClients({ region: "us-east-1", endpoint });
    ecs = new EcsAdapter(aws.ecs);
    await control.setSpeeds({ rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 });
    await publishSandboxImages(control, tags);
    await control.addFault({ tag: vHealth, kind: "health" });
    await control.addFault({ tag: vRollout, kind: "rollout" });
    await control.addFault({ tag: vVersion, kind: "wrong-version" });
    await control.addFault({ tag: vAlarm, kind: "alarm" });
    await control.addFault({ tag: vMigration, kind: "migration" });
  });
  afterAll(async () => {
    // The suite shares one sandbox: leave no services behind for the next file.
    const destroyed = await gantry("stack", "destroy", "--env", "sandbox");
    aws.destroy();
    await rm(stateDir, { recursive: true, force: true });
    expect(destroyed.code, destroyed.stderr).toBe(0);
  }, 120_000);

  it("GIVEN a published tag WHEN deployed THEN exit 0, succeeded, ECS runs its digest, lock free, ledger has it", async () => {
    const first = await deploy(v1);
    expect(first.code, first.stderr).toBe(0);
    expect(first.record).toMatchObject({ status: "succeeded", tag: v1, env: "sandbox", actor: "scenario" });
    expect(first.record.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.record.steps.map((s) => [s.name, s.status])).toEqual([
      ["preflight", "succeeded"],
      ["stack", "succeeded"],
      ["snapshot", "succeeded"],
      ["migrate", "succeeded"],
      ["release", "succeeded"],
      ["gates", "succeeded"],
    ]);
    expect(first.record.snapshotId).toMatch(/^gantry-sandbox-/);
    await expectServing(v1);
    const second = await deploy(v2, "--skip-snapshot");
    expect(second.code, second.stderr).toBe(0);
    expect(second.record.previous?.tag).toBe(v1);
    expect(second.record.current?.tag).toBe(v2);
    expect(second.record.snapshotId).toBeNull();
    await expectServing(v2);
    await expectUnlocked();
    const history = await gantry("history", "--env", "sandbox", "--json");
    const records = JSON.parse(history.stdout) as DeploymentRecord[];
    expect(records.slice(0, 2).map((r) => [r.tag, r.status])).toEqual([
      [v2, "succeeded"],
      [v1, "succeeded"],
    ]);

    // Without --json, as a person reads it: aligned tables, no JSON.
    const table = await gantry("history", "--env", "sandbox", "--limit", "2");
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^STARTED +TAG +STATUS +DURATION +ACTOR +DIGEST +SERVICES +SOURCE +ID$/);
    expect(rows.map((r) => r.split(/ {2,}/).slice(1, 3))).toEqual([
      [v2, "succeeded"],
      [v1, "succeeded"],
    ]);
    // Aligned: every status starts under the STATUS header.
    expect(rows.map((r) => r.indexOf(" succeeded ") + 1)).toEqual(
      [1, 1].map(() => header?.indexOf("STATUS")),
    );
    const status = await gantry("status", "--env", "sandbox");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).not.toContain("{");
    expect(status.stdout).toMatch(
      new RegExp(
        `^api +${v2.replace(/\./g, "\\.")} +api +sha256:[0-9a-f]{12} +PRIMARY COMPLETED +HTTP 200$`,
        "m",
      ),
    );
    expect(status.stdout).toMatch(new RegExp(`^last deploy: ${v2.replace(/\./g, "\\.")} succeeded at `, "m"));
    expect(status.stdout).toMatch(/^lock: free$/m);
  });

  it.each([
    ["health 500", () => vHealth, /new targets unhealthy|answered HTTP 500/],
    ["a rollout FAILED by ECS", () => vRollout, /circuit breaker|rolled it back|no longer PRIMARY/],
    ["the wrong version served", () => vVersion, /serves version=/],
    ["an alarm during the bake", () => vAlarm, /in ALARM/],
  ])(
    "GIVEN %s WHEN deployed THEN exit 3, rolled back to the previous version, verified, lock free",
    async (_what, tag, reason) => {
      const run = await deploy(tag(), "--skip-snapshot", "--skip-migrations");
      expect(run.code, run.stderr).toBe(3);
      expect(run.record.status).toBe("rolled_back");
      expect(run.record.steps.find((s) => s.name === "gates")?.detail).toMatch(reason);
      expect(run.record.steps.filter((s) => s.name === "release").map((s) => s.status)).toEqual([
        "succeeded",
        "undone",
      ]);
      expect(run.record.current?.tag).toBe(v2);
      await expectServing(v2);
      await expectUnlocked();
    },
  );

  it("GIVEN a migration that exits 1 WHEN deployed THEN exit 1, nothing released, the error names the exit code", async () => {
    const run = await deploy(vMigration, "--skip-snapshot");
    expect(run.code, run.stderr).toBe(1);
    expect(run.record.status).toBe("failed");
    expect(run.record.steps.map((s) => s.name)).not.toContain("release");
    expect(run.stderr).toMatch(/migration failed: exit code 1/);
    await expectServing(v2);
    await expectUnlocked();
  });

  it("GIVEN a tag that is not in the registry WHEN deployed THEN exit 1 in preflight with a hint, nothing changed", async () => {
    const run = await deploy("never-pushed", "--skip-snapshot");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /2 images not found: api:never-pushed \(api\), web:never-pushed \(web\)\n {2}hint: /,
    );
    expect(run.record.steps.map((s) => [s.name, s.status])).toEqual([["preflight", "failed"]]);
    await expectServing(v2);
  });

  it("GIVEN another deploy holds the lock WHEN deployed THEN exit 5 at once naming the holder, nothing changed", async () => {
    const store = new S3Store(aws.s3, SANDBOX_STATE_BUCKET, "gantry");
    const lock = new DeployLock(store, "sandbox", {
      now: () => Date.now(),
      host: os.hostname(),
      isAlive: () => true,
    });
    const held = await lock.acquire({
      deploymentId: "held-by-test",
      env: "sandbox",
      actor: "someone-else",
      host: os.hostname(),
      pid: process.pid, // alive: this test process
      startedAt: new Date().toISOString(),
    });
    expect(held.acquired).toBe(true);
    try {
      const run = await deploy(vOk, "--skip-snapshot");
      expect(run.code).toBe(5);
      expect(run.stderr).toMatch(/sandbox is locked by deployment held-by-test of someone-else/);
      await expectServing(v2);
    } finally {
      if (held.acquired) await lock.release(held.lock);
    }
  });

  it("GIVEN --dry-run WHEN run THEN the plan, stack diff and task definition diff are printed and nothing changes", async () => {
    const before = (await gantry("history", "--env", "sandbox", "--json")).stdout;
    const run = await gantry("deploy", "--env", "sandbox", "--tag", vOk, "--dry-run", "--json");
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as {
      plan: { step: string; included: boolean }[];
      taskDefinitions: { service: string; from: { tag: string } | null; to: { tag: string } | null }[];
    };
    expect(out.plan.map((p) => p.step)).toEqual([
      "preflight",
      "stack",
      "snapshot",
      "migrate",
      "release",
      "gates",
    ]);
    expect(out.taskDefinitions.map((t) => t.service)).toEqual(["api", "web"]);
    expect(out.taskDefinitions[0]!.from?.tag).toBe(v2);
    expect(out.taskDefinitions[0]!.to?.tag).toBe(vOk);
    expect((await gantry("history", "--env", "sandbox", "--json")).stdout).toBe(before);
    await expectServing(v2);
  });

  it("GIVEN a history WHEN rolled back without --to THEN the previous succeeded version runs, verified; --to an id brings the newer one back", async () => {
    const back = await gantry("rollback", "--env", "sandbox", "--json");
    expect(back.code, back.stderr).toBe(0);
    expect((JSON.parse(back.stdout.trim().split("\n").at(-1) ?? "{}") as DeploymentRecord).tag).toBe(v1);
    await expectServing(v1);
    const records = JSON.parse(
      (await gantry("history", "--env", "sandbox", "--json")).stdout,
    ) as DeploymentRecord[];
    const v2Deploy = records.find((r) => r.tag === v2 && r.status === "succeeded")!;
    const forward = await gantry("rollback", "--env", "sandbox", "--to", v2Deploy.id, "--json");
    expect(forward.code, forward.stderr).toBe(0);
    await expectServing(v2);
    await expectUnlocked();
  });

  it("GIVEN a target whose image was deleted WHEN rolled back to it THEN exit 1, refused in preflight, nothing changed", async () => {
    await aws.ecr.send(new BatchDeleteImageCommand({ repositoryName: "web", imageIds: [{ imageTag: v1 }] }));
    const run = await gantry("rollback", "--env", "sandbox", "--to", v1, "--json");
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`image not found: web:${v1} \\(web\\)`));
    await expectServing(v2);
  });

  it("GIVEN a deploy in its gates WHEN it gets SIGINT THEN exit 130, the release rolled back and verified, journal and ledger say aborted", async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(projectRoot, "bin", "gantry.js"),
        "deploy",
        "--env",
        "sandbox",
        "--tag",
        vOk,
        "--skip-snapshot",
        "--skip-migrations",
      ],
      {
        env: cliEnvironment({ GANTRY_SANDBOX_DIR: stateDir, USER: "scenario" }),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise<void>((resolve) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("… gates…")) resolve();
      });
    });
    child.kill("SIGINT");
    const code = await exited;
    expect(code, stderr).toBe(130);
    expect(stderr).toContain("SIGINT: stopping cleanly");
    // The summary a person reads, then the record the ledger keeps.
    expect(stdout).toMatch(/^deploy \S+ to sandbox: aborted in .+ — interrupted; cancelled cleanly$/m);
    const record = (
      JSON.parse(
        (await gantry("history", "--env", "sandbox", "--limit", "1", "--json")).stdout,
      ) as DeploymentRecord[]
    )[0];
    expect(record?.id).toBe(stdout.match(/^ {2}id +(\S+) by scenario$/m)?.[1]);
    if (!record) throw new Error("no record in the ledger");
    expect(record.status).toBe("aborted");
    expect(record.steps.filter((s) => s.name === "release").map((s) => s.status)).toEqual([
      "succeeded",
      "undone",
    ]);
    await expectServing(v2);
    await expectUnlocked();
    const journal = await readFile(path.join(stateDir, "journal", "sandbox", `${record.id}.jsonl`), "utf8");
    const last = JSON.parse(journal.trim().split("\n").at(-1) ?? "{}") as { event: string; status: string };
    expect(last).toMatchObject({ event: "finish", status: "aborted" });
  });

  it("GIVEN a release that fails and a previous version that can no longer start WHEN rolled back THEN exit 4, failed, the reason printed", async () => {
    const broken = `s-broken-${Math.random().toString(36).slice(2, 6)}`;
    await publishSandboxImages(control, [broken]);
    await control.addFault({ tag: broken, kind: "health" });
    // The version to go back to (v2) now fails to start: the rollback deployment itself FAILS.
    await control.addFault({ tag: v2, kind: "rollout" });
    try {
      const run = await deploy(broken, "--skip-snapshot", "--skip-migrations");
      expect(run.code, run.stderr).toBe(4);
      expect(run.record.status).toBe("failed");
      expect(run.record.steps.filter((s) => s.name === "release").map((s) => s.status)).toEqual([
        "succeeded",
        "undo_failed",
      ]);
      expect(run.record.steps.find((s) => s.status === "undo_failed")?.detail).toMatch(
        /rollback not verified/,
      );
      await expectUnlocked();
    } finally {
      await control.clearFaults(v2);
    }
    // ECS's circuit breaker then restores the last COMPLETED deployment (v2) by itself.
    await expect
      .poll(async () => (await ecs.describeService("gantry-sandbox", "api"))?.deployments.length, {
        timeout: 20_000,
        interval: 500,
      })
      .toBe(1);
  });
});
