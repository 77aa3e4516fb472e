/**
 * The smoke gate and the deploy hooks end to end on the sandbox, through the real CLI, with this
 * file's own Pulumi.sandbox.yaml (GANTRY_CONFIG_DIR; one service, short bake) rewritten before
 * each deploy: the exit code, the final record, the ledger, and the sandbox's ground truth — what
 * ECS runs, which task definitions exist — plus a canary secret that must never be printed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ListTaskDefinitionsCommand } from "@aws-sdk/client-ecs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { stringify } from "yaml";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import type { DeploymentRecord } from "../../src/steps/record.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import { type CliRun, runGantry } from "../helpers/cli.ts";
import {
  deployJson,
  expectServing as expectServingOn,
  expectUnlocked as expectUnlockedOn,
} from "../helpers/scenario.ts";

const endpoint = workerSandbox().endpoint;
const CLUSTER = "gantry-sandbox";
const SERVICE = "api";
/** The canary secret: quotes make its JSON-escaped form differ from the raw one. */
const CANARY = `canary-"q7Zx"-${Math.random().toString(36).slice(2, 10)}`;
const CANARY_FORMS = [
  CANARY,
  JSON.stringify(CANARY).slice(1, -1),
  Buffer.from(CANARY).toString("base64"),
  Buffer.from(CANARY).toString("base64").replace(/=+$/, ""),
  Buffer.from(CANARY).toString("base64url"),
  encodeURIComponent(CANARY),
];

let stateDir: string;
let configDir: string;

function gantry(...args: string[]): Promise<CliRun> {
  return runGantry(
    {
      GANTRY_SANDBOX_DIR: stateDir,
      GANTRY_CONFIG_DIR: configDir,
      USER: "smoke-scenario",
      SMOKE_TOKEN: CANARY,
    },
    ...args,
  );
}

const deploy = (tag: string, ...extra: string[]) => deployJson(gantry, tag, ...extra);

/** This file's Pulumi.sandbox.yaml: one service, a 2 s bake, and the given `gantry:` keys. */
async function configure(gantryKeys: Record<string, unknown> = {}): Promise<void> {
  const config: Record<string, unknown> = {
    "aws:region": "us-east-1",
    "platform:repositoryName": "app",
    "platform:services": [
      { name: SERVICE, containerPort: 8080, desiredCount: 1, healthCheckPath: "/health" },
    ],
    "gantry:bakeSeconds": 2,
    "gantry:deployTimeoutSeconds": 120,
    ...Object.fromEntries(Object.entries(gantryKeys).map(([k, v]) => [`gantry:${k}`, v])),
  };
  await writeFile(path.join(configDir, "Pulumi.sandbox.yaml"), stringify({ config }));
}

/** A hook (argv, run by this test's Node) printing its GANTRY_* environment. */
const printEnv = (label: string) => ({
  command: [
    process.execPath,
    "-e",
    `const e = process.env; console.log("${label} status=" + e.GANTRY_STATUS + " previous=" + e.GANTRY_PREVIOUS_TAG + " tag=" + e.GANTRY_TAG + " env=" + e.GANTRY_ENV + " id=" + e.GANTRY_DEPLOYMENT_ID)`,
  ],
  timeoutSeconds: 30,
});

/** The checks every healthy sandbox deploy passes: the fields of SPEC R22. */
const HEALTH_CHECK = {
  name: "api health",
  path: "/health",
  expectJson: { status: "healthy", database: "healthy", environment: "${env}", version: "${tag}" },
  maxLatencyMs: 1000,
};

describe("smoke gate and hooks on the sandbox", () => {
  let aws: AwsClients;
  let ecs: EcsAdapter;
  let server: Server;
  let serverUrl: string;
  const seenAuthorization: (string | undefined)[] = [];
  const control = new SandboxControl(endpoint);
  const [v1, vCmd, vField, vSlow, vPre, vWarn, vCanary, vSkip] = [
    "h1",
    "h-cmd",
    "h-field",
    "h-slow",
    "h-pre",
    "h-warn",
    "h-canary",
    "h-skip",
  ].map((t) => `${t}-${Math.random().toString(36).slice(2, 6)}`) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];

  const expectServing = (tag: string) => expectServingOn(aws, [SERVICE], tag);
  const expectUnlocked = () => expectUnlockedOn(aws);

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-smoke-state-"));
    configDir = await mkdtemp(path.join(os.tmpdir(), "gantry-smoke-config-"));
    await copyFile(path.join(workerSandbox().dir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
    aws = createAwsClients({ region: "us-east-1", endpoint });
    ecs = new EcsAdapter(aws.ecs);
    await control.setSpeeds({ rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 });
    await control.publishImages("app", [v1, vCmd, vField, vSlow, vPre, vWarn, vCanary, vSkip]);
    await control.addFault({ tag: vSlow, kind: "slow", delaySeconds: 1.5 });
    // An endpoint that needs the secret: 200 {"user": "smoke"} with the right bearer token only.
    server = createServer((req, res) => {
      const auth = req.headers.authorization;
      seenAuthorization.push(auth);
      const ok = auth === `Bearer ${CANARY}`;
      res.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
      res.end(JSON.stringify(ok ? { user: "smoke" } : { error: "unauthorized" }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    serverUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });

  afterAll(async () => {
    await configure();
    const destroyed = await gantry("stack", "destroy", "--env", "sandbox");
    aws.destroy();
    await new Promise((resolve) => server.close(resolve));
    await control.clearFaults(vSlow);
    await rm(stateDir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
    expect(destroyed.code, destroyed.stderr).toBe(0);
  }, 120_000);

  it("GIVEN HTTP checks, a smoke command and hooks that pass WHEN deployed THEN exit 0, and the record keeps the checks, the command's output and the hooks with their GANTRY_* environment", async () => {
    await configure({
      smoke: {
        checks: [HEALTH_CHECK],
        // The command reaches the service through BASE_URL and checks it serves GANTRY_TAG.
        command: {
          command: [
            process.execPath,
            "-e",
            "fetch(process.env.BASE_URL + '/health').then((r) => r.json()).then((b) => { console.log('smoke: ' + process.env.GANTRY_ENV + ' serves ' + b.version); process.exit(b.version === process.env.GANTRY_TAG ? 0 : 1); })",
          ],
          timeoutSeconds: 60,
        },
      },
      hooks: { preDeploy: printEnv("pre"), postDeploy: printEnv("post") },
    });
    const run = await deploy(v1);
    expect(run.code, run.stderr).toBe(0);
    expect(run.record.steps.map((s) => [s.name, s.status])).toEqual([
      ["preflight", "succeeded"],
      ["preDeploy", "succeeded"],
      ["stack", "succeeded"],
      ["release", "succeeded"],
      ["gates", "succeeded"],
      ["postDeploy", "succeeded"],
    ]);
    expect(run.record.smoke?.checks).toEqual([
      expect.objectContaining({ name: "api health", status: "passed", httpStatus: 200, attempts: 1 }),
    ]);
    expect(run.record.smoke?.command).toMatchObject({
      status: "succeeded",
      tail: [`smoke: sandbox serves ${v1}`],
    });
    const previous = run.record.previous?.tag ?? "";
    expect(run.record.hooks?.map((h) => h.tail)).toEqual([
      [`pre status=started previous= tag=${v1} env=sandbox id=${run.record.id}`],
      [`post status=succeeded previous=${previous} tag=${v1} env=sandbox id=${run.record.id}`],
    ]);
    await expectServing(v1);
  });

  it("GIVEN a smoke command that exits 1 WHEN deployed THEN the gates fail, exit 3, rolled back to the previous version and verified, onRollback runs, and the record keeps the command's output", async () => {
    await configure({
      smoke: {
        checks: [HEALTH_CHECK],
        command: {
          command: "echo '2 passed'; echo '1 failed: checkout flow' >&2; exit 1",
          timeoutSeconds: 60,
        },
      },
      hooks: { onRollback: printEnv("rollback") },
    });
    const run = await deploy(vCmd);
    expect(run.code, run.stderr).toBe(3);
    expect(run.record.status).toBe("rolled_back");
    expect(run.record.steps.find((s) => s.name === "gates")?.detail).toMatch(
      /^smoke failed: smoke ".*" exited with code 1: 2 passed \| 1 failed: checkout flow$/,
    );
    expect(run.record.steps.filter((s) => s.name === "release").map((s) => s.status)).toEqual([
      "succeeded",
      "undone",
    ]);
    expect(run.record.smoke?.command).toMatchObject({
      exitCode: 1,
      tail: ["2 passed", "1 failed: checkout flow"],
    });
    expect(run.record.hooks?.map((h) => [h.name, h.tail])).toEqual([
      [
        "onRollback",
        [`rollback status=rolled_back previous=${v1} tag=${vCmd} env=sandbox id=${run.record.id}`],
      ],
    ]);
    expect(run.stderr).toMatch(/gantry: rolled_back: smoke failed: /);
    await expectServing(v1);
    await expectUnlocked();
  });

  it("GIVEN an HTTP check expecting a JSON value the service does not answer WHEN deployed THEN the gate fails naming the field, the expected and the actual value; rolled back", async () => {
    await configure({
      smoke: { checks: [{ ...HEALTH_CHECK, expectJson: { status: "healthy", environment: "staging" } }] },
    });
    const run = await deploy(vField);
    expect(run.code, run.stderr).toBe(3);
    expect(run.record.steps.find((s) => s.name === "gates")?.detail).toMatch(
      /^smoke check "api health" failed \(GET http:\/\/127\.0\.0\.1:\d+\/health, 1 attempt\): field environment: expected "staging", got "sandbox"$/,
    );
    expect(run.record.smoke?.checks[0]).toMatchObject({ status: "failed", httpStatus: 200 });
    await expectServing(v1);
  });

  it("GIVEN an endpoint slower than the check's latency ceiling (sandbox slow fault, 1.5 s) WHEN deployed THEN the gate fails on latency after its retry; rolled back", async () => {
    await configure({
      smoke: { checks: [{ ...HEALTH_CHECK, maxLatencyMs: 500, retries: 1 }] },
    });
    const run = await deploy(vSlow);
    expect(run.code, run.stderr).toBe(3);
    expect(run.record.steps.find((s) => s.name === "gates")?.detail).toMatch(
      /^smoke check "api health" failed \(.*, 2 attempts\): answered in 1[5-9]\d\d ms, over the 500 ms ceiling$/,
    );
    await expectServing(v1);
  });

  it("GIVEN a preDeploy hook that fails WHEN deployed THEN exit 1 and the environment is untouched: same task definition, same deployment, no new revision, no stack update", async () => {
    await configure({
      smoke: { checks: [HEALTH_CHECK] },
      hooks: {
        preDeploy: { command: "echo 'release notes missing for this tag' >&2; exit 2", timeoutSeconds: 30 },
        onFailure: printEnv("failure"),
      },
    });
    const before = await ecs.describeService(CLUSTER, SERVICE);
    const family = (await ecs.describeTaskDefinition(before!.taskDefinition)).family ?? "";
    const revisions = async () =>
      (await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family }))).taskDefinitionArns ?? [];
    const revisionsBefore = await revisions();

    const run = await deploy(vPre);

    expect(run.code, run.stderr).toBe(1);
    expect(run.record.status).toBe("failed");
    expect(run.record.steps.map((s) => [s.name, s.status])).toEqual([
      ["preflight", "succeeded"],
      ["preDeploy", "failed"],
    ]);
    expect(run.stderr).toMatch(
      /gantry: failed: hook preDeploy ".*" exited with code 2: release notes missing for this tag\n {2}hint: nothing was changed/,
    );
    expect(run.record.hooks?.map((h) => [h.name, h.status, h.tail])).toEqual([
      ["preDeploy", "failed", ["release notes missing for this tag"]],
      [
        "onFailure",
        "succeeded",
        [`failure status=failed previous=${v1} tag=${vPre} env=sandbox id=${run.record.id}`],
      ],
    ]);
    const after = await ecs.describeService(CLUSTER, SERVICE);
    expect(after?.taskDefinition).toBe(before?.taskDefinition);
    expect(after?.deployments.map((d) => d.id)).toEqual(before?.deployments.map((d) => d.id));
    expect(await revisions()).toEqual(revisionsBefore);
    await expectServing(v1);
    await expectUnlocked();
    const history = JSON.parse(
      (await gantry("history", "--env", "sandbox", "--json")).stdout,
    ) as DeploymentRecord[];
    expect(history[0]).toMatchObject({ id: run.record.id, status: "failed", tag: vPre });
  });

  it("GIVEN a postDeploy hook set to warn that fails WHEN deployed THEN exit 0, the release stays and is verified, and the warning is printed and recorded", async () => {
    await configure({
      smoke: { checks: [HEALTH_CHECK] },
      hooks: {
        postDeploy: {
          command: "echo 'status page update failed'; exit 1",
          timeoutSeconds: 30,
          onError: "warn",
        },
      },
    });
    const run = await deploy(vWarn);
    expect(run.code, run.stderr).toBe(0);
    expect(run.record.status).toBe("succeeded");
    expect(run.record.hooks?.map((h) => [h.name, h.status, h.exitCode])).toEqual([
      ["postDeploy", "warned", 1],
    ]);
    expect(run.stderr).toMatch(
      /warning: hook postDeploy ".*" exited with code 1: status page update failed \(gantry:hooks\.postDeploy\.onError: warn, the release stays\)/,
    );
    await expectServing(vWarn);
  });

  it("GIVEN a secret header and secret hook/smoke environment (canary) WHEN deployed and its value printed raw, base64 and in JSON THEN the check authenticates, and the value is in no output: stdout, stderr, the final record, the ledger, the journal", async () => {
    const printSecret = (label: string) => ({
      command: [
        process.execPath,
        "-e",
        `const t = process.env.TOKEN; console.log("${label} raw " + t); console.log("${label} b64 " + Buffer.from(t).toString("base64")); console.error(JSON.stringify({ label: "${label}", token: t }));`,
      ],
      timeoutSeconds: 30,
      env: { TOKEN: { fromEnv: "SMOKE_TOKEN" } },
    });
    await configure({
      smoke: {
        checks: [
          HEALTH_CHECK,
          {
            name: "authenticated",
            url: `${serverUrl}/me`,
            headers: { Authorization: { fromEnv: "SMOKE_TOKEN", prefix: "Bearer " } },
            expectJson: { user: "smoke" },
          },
        ],
        command: printSecret("smoke"),
      },
      hooks: { postDeploy: printSecret("post") },
    });
    // Without --json: the terminal reporter prints every hook and smoke output line on stderr.
    const run = await gantry("deploy", "--env", "sandbox", "--tag", vCanary);
    expect(run.code, run.stderr).toBe(0);
    expect(seenAuthorization.at(-1)).toBe(`Bearer ${CANARY}`);
    // The output did happen, masked.
    expect(run.stderr).toContain("smoke | smoke raw ***");
    expect(run.stderr).toContain("postDeploy | post b64 ***");
    expect(run.stderr).toMatch(/postDeploy \| \{"label":"post","token":"\*\*\*"\}/);
    // The summary a person reads, then the record the ledger keeps.
    expect(run.stdout).toMatch(/^deploy \S+ to sandbox: succeeded in .+ — deployed and verified healthy$/m);
    const record = (
      JSON.parse(
        (await gantry("history", "--env", "sandbox", "--limit", "1", "--json")).stdout,
      ) as DeploymentRecord[]
    )[0];
    if (!record) throw new Error("no record in the ledger");
    expect(run.stdout).toContain(`  id       ${record.id} by smoke-scenario`);
    expect(record.smoke?.checks.map((c) => [c.name, c.status])).toEqual([
      ["api health", "passed"],
      ["authenticated", "passed"],
    ]);
    expect(record.smoke?.command?.tail).toContain("smoke raw ***");
    const history = (await gantry("history", "--env", "sandbox", "--json")).stdout;
    const journalDir = path.join(stateDir, "journal", "sandbox");
    const journals = await Promise.all(
      (await readdir(journalDir)).map((f) => readFile(path.join(journalDir, f), "utf8")),
    );
    const everything = [run.stdout, run.stderr, history, ...journals].join("\n");
    expect(history).toContain(record.id);
    for (const form of CANARY_FORMS) expect(everything).not.toContain(form);
    await expectServing(vCanary);
  });

  it("GIVEN --skip-smoke WHEN deployed with a smoke gate that would fail THEN it does not run, exit 0, and the ledger records that it was skipped", async () => {
    await configure({ smoke: { command: { command: "exit 1", timeoutSeconds: 30 } } });
    const run = await deploy(vSkip, "--skip-smoke");
    expect(run.code, run.stderr).toBe(0);
    expect(run.record.smoke).toEqual({ skipped: true, checks: [] });
    expect(run.stderr).toContain("warning: smoke gate skipped (--skip-smoke)");
    const history = JSON.parse(
      (await gantry("history", "--env", "sandbox", "--json")).stdout,
    ) as DeploymentRecord[];
    expect(history[0]).toMatchObject({ id: run.record.id, smoke: { skipped: true } });
    await expectServing(vSkip);
  });

  it("GIVEN hooks and a smoke gate WHEN --dry-run THEN the plan shows the hook steps and the smoke gate, the hooks are listed, and nothing changes", async () => {
    await configure({
      smoke: { checks: [HEALTH_CHECK], command: { command: "npm run test:smoke", timeoutSeconds: 120 } },
      hooks: {
        preDeploy: { command: "./scripts/check.sh", timeoutSeconds: 30 },
        postDeploy: { command: "./scripts/notify.sh", onError: "warn" },
        onRollback: { command: "./scripts/page.sh" },
      },
    });
    const before = (await gantry("history", "--env", "sandbox", "--json")).stdout;
    const run = await gantry("deploy", "--env", "sandbox", "--tag", v1, "--dry-run", "--json");
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as {
      plan: { step: string; included: boolean; why: string }[];
      hooks: { hook: string; command: string; when: string }[];
    };
    expect(out.plan.map((p) => p.step)).toEqual([
      "preflight",
      "preDeploy",
      "stack",
      "snapshot",
      "migrate",
      "release",
      "gates",
      "postDeploy",
    ]);
    expect(out.plan.find((p) => p.step === "gates")?.why).toContain(
      'smoke: 1 HTTP check (api health), then command "npm run test:smoke" (timeout 120 s)',
    );
    expect(out.hooks.map((h) => [h.hook, h.command])).toEqual([
      ["preDeploy", "./scripts/check.sh"],
      ["postDeploy", "./scripts/notify.sh"],
      ["onRollback", "./scripts/page.sh"],
    ]);
    expect((await gantry("history", "--env", "sandbox", "--json")).stdout).toBe(before);
    await expectServing(vSkip);
  });
});
