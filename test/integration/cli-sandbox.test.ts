/**
 * `gantry sandbox ...` end to end: the real CLI in a child process, its own sandbox in a
 * temporary GANTRY_SANDBOX_DIR (stopped in afterAll whatever happens), observed through the
 * control API and the AWS SDK.
 */
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { DescribeImagesCommand } from "@aws-sdk/client-ecr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsClients } from "../../src/aws/clients.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import { portInUse, stopSandbox } from "../../src/sandbox/process.ts";
import { type CliRun, runGantry } from "../helpers/cli.ts";

let stateDir: string;

function gantry(...args: string[]): Promise<CliRun> {
  return runGantry({ GANTRY_SANDBOX_DIR: stateDir }, ...args);
}

async function json<T>(...args: string[]): Promise<T> {
  const res = await gantry(...args, "--json");
  expect(res.stderr.includes("error"), res.stderr).toBe(false);
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as T;
}

describe("gantry sandbox commands", () => {
  let endpoint: string;
  let pid: number;

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-cli-"));
  });
  afterAll(async () => {
    await stopSandbox(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  });

  it("GIVEN no sandbox WHEN status is asked THEN exit 1 and 'not running'", async () => {
    const res = await gantry("sandbox", "status");
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("sandbox not running");
  });

  it("GIVEN no sandbox WHEN an image is published THEN exit 1 with the hint to start it", async () => {
    const res = await gantry("sandbox", "image", "v1.0.0");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/the sandbox is not running.*\n {2}hint: gantry sandbox start/);
  });

  it("GIVEN a busy port WHEN started on it THEN exit 2, one line naming the port, nothing started", async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const res = await gantry("sandbox", "start", "--port", String(port));
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(
        new RegExp(`^gantry: error: port ${String(port)} is already in use on 127\\.0\\.0\\.1\\n {2}hint: `),
      );
      const status = await gantry("sandbox", "status");
      expect(status.code).toBe(1);
    } finally {
      blocker.close();
    }
  });

  it("GIVEN nothing running WHEN started with speeds THEN it answers on 127.0.0.1 with those speeds", async () => {
    const started = await json<{ endpoint: string; pid: number }>(
      "sandbox",
      "start",
      "--rollout-seconds",
      "1.5",
    );
    endpoint = started.endpoint;
    pid = started.pid;
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const status = await json<{ running: boolean; speeds: { rolloutSeconds: number }; pid: number }>(
      "sandbox",
      "status",
    );
    expect(status).toMatchObject({ running: true, pid, speeds: { rolloutSeconds: 1.5 } });
  });

  it("GIVEN a running sandbox WHEN started again THEN the same process is reused", async () => {
    const res = await gantry("sandbox", "start");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("sandbox already running");
    // Read as a person reads it: the title, then the fields as YAML.
    expect(res.stdout).toMatch(new RegExp(`^ {2}pid: ${String(pid)}$`, "m"));
  });

  it("GIVEN tags WHEN published without --repository THEN every ECR repository of Pulumi.sandbox.yaml's services has them, with distinct digests", async () => {
    const all = await json<{ repository: string; tag: string; digest: string }[]>(
      "sandbox",
      "image",
      "v1.0.0",
      "v1.1.0",
    );
    expect(all.map((i) => [i.repository, i.tag])).toEqual([
      ["api", "v1.0.0"],
      ["api", "v1.1.0"],
      ["web", "v1.0.0"],
      ["web", "v1.1.0"],
    ]);
    expect(new Set(all.map((i) => i.digest)).size).toBe(4);
    const images = await json<{ tag: string; digest: string }[]>(
      "sandbox",
      "image",
      "v1.0.0",
      "v1.1.0",
      "--repository",
      "app",
    );
    expect(images.map((i) => i.tag)).toEqual(["v1.0.0", "v1.1.0"]);
    expect(images[0]!.digest).not.toBe(images[1]!.digest);
    const aws = createAwsClients({ region: "us-east-1", endpoint });
    try {
      const listed = await aws.ecr.send(new DescribeImagesCommand({ repositoryName: "app" }));
      const byTag = new Map(listed.imageDetails?.map((d) => [d.imageTags?.[0], d.imageDigest]));
      expect(byTag.get("v1.0.0")).toBe(images[0]!.digest);
      expect(byTag.get("v1.1.0")).toBe(images[1]!.digest);
    } finally {
      aws.destroy();
    }
  });

  it("GIVEN a tag WHEN a fault is marked and then cleared THEN the control API shows it and then not", async () => {
    await json("sandbox", "fault", "v1.1.0", "--kind", "rollout");
    await json("sandbox", "fault", "v1.1.0", "--kind", "alarm", "--alarm", "gantry-sandbox-http-5xx");
    const control = new SandboxControl(endpoint);
    expect(await control.faults()).toEqual([
      { tag: "v1.1.0", kind: "rollout" },
      { tag: "v1.1.0", kind: "alarm", alarmName: "gantry-sandbox-http-5xx" },
    ]);
    await json("sandbox", "fault", "v1.1.0", "--clear");
    expect(await control.faults()).toEqual([]);
  });

  it("GIVEN speeds WHEN changed THEN health reports them", async () => {
    const speeds = await json<{ taskSeconds: number; snapshotSeconds: number }>(
      "sandbox",
      "speed",
      "--task-seconds",
      "0.5",
      "--snapshot-seconds",
      "2",
    );
    expect(speeds).toMatchObject({ taskSeconds: 0.5, snapshotSeconds: 2, rolloutSeconds: 1.5 });
    expect((await new SandboxControl(endpoint).health()).speeds.taskSeconds).toBe(0.5);
  });

  it("GIVEN images WHEN reset THEN the epoch changes and ECR is empty", async () => {
    const control = new SandboxControl(endpoint);
    const before = (await control.health()).epoch;
    await json("sandbox", "reset");
    expect((await control.health()).epoch).not.toBe(before);
    const aws = createAwsClients({ region: "us-east-1", endpoint });
    try {
      await expect(aws.ecr.send(new DescribeImagesCommand({ repositoryName: "app" }))).rejects.toThrow(
        /RepositoryNotFound|does not exist/,
      );
    } finally {
      aws.destroy();
    }
  });

  it("GIVEN a running sandbox WHEN stopped THEN the process and its port are gone; a second stop says so", async () => {
    const port = Number(new URL(endpoint).port);
    const res = await json<{ stopped: boolean }>("sandbox", "stop");
    expect(res.stopped).toBe(true);
    expect(() => process.kill(pid, 0)).toThrow();
    expect(await portInUse(port)).toBe(false);
    const again = await gantry("sandbox", "stop");
    expect(again.stdout).toContain("sandbox was not running");
  });
});

describe("gantry sandbox start, twice at once", () => {
  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-cli2-"));
  });
  afterAll(async () => {
    await stopSandbox(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  });

  it("GIVEN two concurrent starts WHEN both finish THEN they report the same single process", async () => {
    const [a, b] = await Promise.all([
      json<{ pid: number }>("sandbox", "start"),
      json<{ pid: number }>("sandbox", "start"),
    ]);
    expect(a.pid).toBe(b.pid);
    const status = await json<{ pid: number }>("sandbox", "status");
    expect(status.pid).toBe(a.pid);
  });
});
