/**
 * The sandbox process itself (sandbox/SPEC.md): each test spawns its own `sandbox/server.py`
 * under the sandbox venv and always kills it.
 * Rules covered: R1 (start, READY line, stdout, loopback-only bind, --port 0, --host), R2 (port
 * in use → exit 3 with the one-line message; bad CLI arguments → exit 2), R3 (one stderr log
 * line per request, --quiet), R4 (SIGTERM/SIGINT: exit 0 within ~2 s, main and health listeners
 * closed, no child processes), R8 (default speeds and CLI overrides), R9 (pid, port, a new epoch
 * per process).
 */
import { readdir, readFile } from "node:fs/promises";
import net from "node:net";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { ListClustersCommand } from "@aws-sdk/client-ecs";
import { DescribeDBInstancesCommand } from "@aws-sdk/client-rds";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { SandboxControl } from "../../../src/sandbox/control.ts";
import {
  gantry,
  provisionService,
  spawnSandbox,
  READY_LINE,
  uid,
  waitFor,
  waitReady,
  type SpawnedSandbox,
} from "./helpers.ts";

const sharedEndpoint = workerSandbox().endpoint;

/** Listening TCP sockets of this port: local addresses as "a.b.c.d" (IPv4) or "v6:<hex>". */
async function listeners(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== "0A") continue; // 0A = LISTEN
      const [addr, portHex] = cols[1]!.split(":");
      if (parseInt(portHex!, 16) !== port) continue;
      if (file.endsWith("tcp6")) out.push(`v6:${addr}`);
      else out.push([0, 1, 2, 3].map((i) => parseInt(addr!.slice(6 - 2 * i, 8 - 2 * i), 16)).join("."));
    }
  }
  return out;
}

function connectable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

async function childPids(pid: number): Promise<string[]> {
  const tasks = await readdir(`/proc/${pid}/task`);
  const out: string[] = [];
  for (const tid of tasks) {
    const children = await readFile(`/proc/${pid}/task/${tid}/children`, "utf8").catch(() => "");
    out.push(...children.split(/\s+/).filter(Boolean));
  }
  return out;
}

function countLines(text: string, re: RegExp): number {
  return text.split("\n").filter((l) => re.test(l)).length;
}

// Three private sandboxes, started together to save time; every one is killed at the end.
const spawned: SpawnedSandbox[] = [];
let flagged: SpawnedSandbox;
let quiet: SpawnedSandbox;
let hosted: SpawnedSandbox;
let flaggedPort: number;
let quietPort: number;
let hostedPort: number;

beforeAll(async () => {
  const start = async (args: string[]): Promise<[SpawnedSandbox, number]> => {
    const sb = await spawnSandbox(args);
    spawned.push(sb);
    return [sb, await waitReady(sb)];
  };
  [[flagged, flaggedPort], [quiet, quietPort], [hosted, hostedPort]] = await Promise.all([
    start(["--port", "0", "--rollout-seconds", "1.5", "--snapshot-seconds", "0.5", "--task-seconds", "0.25"]),
    start(["--port", "0", "--quiet"]),
    start(["--port", "0", "--host", "127.0.0.2", "--quiet"]),
  ]);
});

afterAll(async () => {
  await Promise.all(spawned.map((sb) => sb.kill()));
});

// ---------------------------------------------------------------------------------------------
describe("a sandbox started with --port 0 and speed flags", () => {
  let sb: SpawnedSandbox;
  let port: number;
  let endpoint: string;
  let aws: AwsClients;

  beforeAll(() => {
    sb = flagged;
    port = flaggedPort;
    endpoint = `http://127.0.0.1:${port}`;
    aws = createAwsClients({ region: "us-east-1", endpoint });
  });

  afterAll(() => {
    aws.destroy();
  });

  it("GIVEN --port 0 WHEN started THEN stdout is exactly the READY line with a free port and its pid, bound on 127.0.0.1 only (R1)", async () => {
    const match = READY_LINE.exec(sb.stdout());
    expect(match, sb.stdout()).not.toBeNull();
    expect(port).toBeGreaterThan(0);
    expect(Number(match![2])).toBe(sb.pid);
    expect(await listeners(port)).toEqual(["127.0.0.1"]);
  });

  it("GIVEN speed flags WHEN health and speed are read THEN pid, port, the flags' speeds, moto 5.2.5 and an epoch of its own (R8, R9)", async () => {
    const health = await new SandboxControl(endpoint).health();
    expect(health).toMatchObject({
      ok: true,
      pid: sb.pid,
      port,
      speeds: { rolloutSeconds: 1.5, snapshotSeconds: 0.5, taskSeconds: 0.25 },
      motoVersion: "5.2.5",
    });
    expect((await gantry(endpoint, "GET", "speed")).body).toEqual(health.speeds);
    const shared = await new SandboxControl(sharedEndpoint).health();
    expect(health.epoch).not.toBe(shared.epoch);
  });

  describe.each([
    {
      op: "ecs.ListClusters (JSON 1.1)",
      line: /^gantry-sandbox: ecs\.ListClusters 200 \d+ms$/,
      call: (a: AwsClients) => a.ecs.send(new ListClustersCommand({})),
    },
    {
      op: "rds.DescribeDBInstances (query)",
      line: /^gantry-sandbox: rds\.DescribeDBInstances 200 \d+ms$/,
      call: (a: AwsClients) => a.rds.send(new DescribeDBInstancesCommand({})),
    },
    {
      op: "monitoring.DescribeAlarms (JSON 1.0)",
      line: /^gantry-sandbox: monitoring\.DescribeAlarms 200 \d+ms$/,
      call: (a: AwsClients) => a.cloudwatch.send(new DescribeAlarmsCommand({})),
    },
    {
      op: "s3 ListBuckets (REST: method and path)",
      line: /^gantry-sandbox: s3\.GET \/ 200 \d+ms$/,
      call: (a: AwsClients) => a.s3.send(new ListBucketsCommand({})),
    },
  ])("$op", ({ line, call }) => {
    it("GIVEN one AWS request WHEN it is served THEN exactly one '<service>.<Operation> <status> <ms>ms' line on stderr (R3)", async () => {
      const before = countLines(sb.stderr(), line);
      await call(aws);
      await waitFor(() => countLines(sb.stderr(), line) > before, { timeoutMs: 3000 }).catch(() => undefined);
      expect(countLines(sb.stderr(), line), `stderr tail:\n${sb.stderr().slice(-300)}`).toBe(before + 1);
    });
  });

  describe.each([
    { method: "GET", path: "health", line: /^gantry-sandbox: GET \/_gantry\/health 200 \d+ms$/ },
    { method: "POST", path: "no-such", line: /^gantry-sandbox: POST \/_gantry\/no-such 404 \d+ms$/ },
  ])("control $method /_gantry/$path", ({ method, path, line }) => {
    it("GIVEN one control request WHEN served THEN exactly one '<METHOD> <path> <status> <ms>ms' line on stderr (R3)", async () => {
      const before = countLines(sb.stderr(), line);
      await gantry(endpoint, method, path, method === "POST" ? {} : undefined);
      await waitFor(() => countLines(sb.stderr(), line) > before, { timeoutMs: 3000 }).catch(() => undefined);
      expect(countLines(sb.stderr(), line), `stderr tail:\n${sb.stderr().slice(-300)}`).toBe(before + 1);
    });
  });

  it("GIVEN requests were served THEN stdout still holds only the READY line (R1)", () => {
    expect(sb.stdout()).toMatch(READY_LINE);
  });

  it("GIVEN a provisioned service WHEN SIGTERM THEN exit 0 within ~2 s, the main and health ports closed, no child process ever (R4)", async () => {
    const fx = await provisionService(endpoint, "r4", {
      tags: [uid("v1")],
      desiredCount: 1,
      targetGroup: false,
    });
    const healthPort = Number(new URL(fx.healthUrl).port);
    expect(await connectable("127.0.0.1", healthPort)).toBe(true);
    expect(await childPids(sb.pid)).toEqual([]);
    const sent = Date.now();
    sb.child.kill("SIGTERM");
    const exit = await sb.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    // A functional bound (it stops rather than hangs), generous for a loaded 2-core machine.
    expect(exit.at - sent).toBeLessThan(5000);
    expect(await connectable("127.0.0.1", port)).toBe(false);
    expect(await connectable("127.0.0.1", healthPort)).toBe(false);
    expect(await listeners(port)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
describe("a sandbox started with --quiet and no speed flags", () => {
  let sb: SpawnedSandbox;
  let endpoint: string;

  beforeAll(() => {
    sb = quiet;
    endpoint = `http://127.0.0.1:${quietPort}`;
  });

  it("GIVEN no speed flags WHEN GET /_gantry/speed THEN the defaults rollout 6, snapshot 3, task 2 (R8)", async () => {
    expect((await gantry(endpoint, "GET", "speed")).body).toEqual({
      rolloutSeconds: 6,
      snapshotSeconds: 3,
      taskSeconds: 2,
    });
  });

  it("GIVEN --quiet WHEN AWS and control requests are served THEN no request line is logged (R3)", async () => {
    const aws = createAwsClients({ region: "us-east-1", endpoint });
    try {
      await aws.ecs.send(new ListClustersCommand({}));
      await gantry(endpoint, "GET", "health");
      await gantry(endpoint, "GET", "no-such");
    } finally {
      aws.destroy();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(sb.stderr()).not.toMatch(/ListClusters|\/_gantry\//);
    expect(sb.stdout()).toMatch(READY_LINE);
  });

  it("GIVEN SIGINT THEN exit 0 within ~2 s and the port is closed (R4)", async () => {
    const port = Number(new URL(endpoint).port);
    const sent = Date.now();
    sb.child.kill("SIGINT");
    const exit = await sb.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    // A functional bound (it stops rather than hangs), generous for a loaded 2-core machine.
    expect(exit.at - sent).toBeLessThan(5000);
    expect(await connectable("127.0.0.1", port)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
describe("a sandbox started with --host 127.0.0.2", () => {
  it("GIVEN another loopback address WHEN started THEN it listens there only (R1)", async () => {
    const port = hostedPort;
    expect(READY_LINE.exec(hosted.stdout())?.[2]).toBe(String(hosted.pid));
    expect(await listeners(port)).toEqual(["127.0.0.2"]);
    expect(await connectable("127.0.0.1", port)).toBe(false);
    const endpoint = `http://127.0.0.2:${port}`;
    expect((await new SandboxControl(endpoint).health()).port).toBe(port);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R2 start failures", () => {
  describe.each([{ flags: [] as string[] }, { flags: ["--quiet"] }])("with flags $flags", ({ flags }) => {
    it("GIVEN a port already in use on 127.0.0.1 WHEN started on it THEN one stderr line (even with --quiet), exit code 3, no READY", async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      const port = (blocker.address() as net.AddressInfo).port;
      const sb = await spawnSandbox(["--port", String(port), ...flags]);
      try {
        const exit = await sb.exited;
        expect(exit.code).toBe(3);
        expect(sb.stdout()).toBe("");
        expect(sb.stderr().trim()).toBe(
          `gantry-sandbox: port ${port} is in use on 127.0.0.1; choose another with --port or stop the other process`,
        );
      } finally {
        await sb.kill();
        await new Promise((r) => blocker.close(r));
      }
    });
  });

  describe.each([
    { what: "no --port", args: [] as string[] },
    { what: "a non-numeric port", args: ["--port", "eighty"] },
    { what: "an unknown flag", args: ["--port", "0", "--turbo"] },
    { what: "a negative speed", args: ["--port", "0", "--rollout-seconds", "-1"] },
    { what: "a non-loopback host", args: ["--port", "0", "--host", "0.0.0.0"] },
  ])("$what", ({ args }) => {
    it(`GIVEN ${args.join(" ")} WHEN started THEN exit code 2 and no READY`, async () => {
      const sb = await spawnSandbox(args);
      try {
        const exit = await sb.exited;
        expect(exit.code).toBe(2);
        expect(sb.stdout()).toBe("");
      } finally {
        await sb.kill();
      }
    });
  });
});
