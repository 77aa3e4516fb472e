/**
 * An app of two services with their own images, end to end on the sandbox through the real CLI:
 * environment `qa`, found from its own Pulumi.qa.yaml (`gantry:account: sandbox`), whose services
 * api and web come from the ECR repositories `img-api` and `img-web`. For each scenario the exit
 * code, the final record, and the sandbox's ground truth: what each ECS service runs (its own
 * image's digest, never another's), on exactly one COMPLETED deployment, the lock free.
 */
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { stringify } from "yaml";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { S3Store } from "../../src/aws/store.ts";
import { containerVersion } from "../../src/aws/taskDefinition.ts";
import { SANDBOX_STATE_BUCKET } from "../../src/app/environment.ts";
import { DeployLock } from "../../src/orchestrator/lock.ts";
import { SandboxControl, type PublishedImage } from "../../src/sandbox/control.ts";
import type { DeploymentRecord } from "../../src/steps/record.ts";
import { type CliRun, runGantry } from "../helpers/cli.ts";

const endpoint = workerSandbox().endpoint;
const ENV = "qa";
const CLUSTER = `gantry-${ENV}`;
const REPOS = { api: "img-api", web: "img-web" } as const;
type Service = keyof typeof REPOS;

let stateDir: string;
let configDir: string;

/** The registry password gantry reads (`gantry:registries` → `{ fromEnv: REGISTRY_PASSWORD }`). */
let registryPassword = "";

function gantry(...args: string[]): Promise<CliRun> {
  return runGantry(
    {
      GANTRY_SANDBOX_DIR: stateDir,
      GANTRY_CONFIG_DIR: configDir,
      GANTRY_STATE_DIR: path.join(stateDir, "gantry"),
      USER: "images-scenario",
      REGISTRY_PASSWORD: registryPassword,
    },
    ...args,
  );
}

/** Pulumi.qa.yaml: api from ECR, web from `webImage`, with `registries` as gantry's credentials. */
async function configure(webImage: string, registries: Record<string, unknown> = {}): Promise<void> {
  const config = {
    "aws:region": "us-east-1",
    "gantry:account": "sandbox",
    "platform:services": [
      { name: "api", image: REPOS.api, containerPort: 8080, desiredCount: 1, healthCheckPath: "/health" },
      { name: "web", image: webImage, containerPort: 3000, desiredCount: 1, healthCheckPath: "/health" },
    ],
    "gantry:registries": registries,
    "gantry:migration": { command: ["npm", "run", "migrate"], timeoutSeconds: 60 },
    "gantry:bakeSeconds": 2,
    "gantry:deployTimeoutSeconds": 120,
  };
  await writeFile(path.join(configDir, `Pulumi.${ENV}.yaml`), stringify({ config }));
}

/** `gantry deploy --env qa … --json` and its final record (empty when none was printed). */
async function deploy(...args: string[]): Promise<CliRun & { record: DeploymentRecord }> {
  const run = await gantry("deploy", "--env", ENV, "--json", ...args);
  const line = run.stdout.trim().split("\n").at(-1) ?? "";
  return { ...run, record: JSON.parse(line.startsWith("{") ? line : "{}") as DeploymentRecord };
}

describe("an app of two images on the sandbox (env qa)", () => {
  let aws: AwsClients;
  let ecs: EcsAdapter;
  const control = new SandboxControl(endpoint);
  const suffix = Math.random().toString(36).slice(2, 6);
  const [v1, v2, vBad, vApiOnly, v3] = ["i1", "i2", "i-bad", "i-api-only", "i3"].map(
    (t) => `${t}-${suffix}`,
  ) as [string, string, string, string, string];
  /** Digests by repository and tag, as the sandbox's ECR published them. */
  const digests = new Map<string, string>();

  /** Ground truth: each service on one COMPLETED deployment of `tags[service]`, from its own repository at that tag's digest. */
  async function expectServing(tags: Record<Service, string>): Promise<Record<Service, string>> {
    const arns = {} as Record<Service, string>;
    for (const service of Object.keys(REPOS) as Service[]) {
      const s = await ecs.describeService(CLUSTER, service);
      expect(s?.deployments.map((d) => [d.status, d.rolloutState])).toEqual([["PRIMARY", "COMPLETED"]]);
      const definition = await ecs.describeTaskDefinition(s!.taskDefinition);
      expect(containerVersion(definition, service)).toBe(tags[service]);
      const image = definition.containerDefinitions?.find((c) => c.name === service)?.image ?? "";
      expect(image).toBe(
        `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPOS[service]}@${digests.get(`${REPOS[service]}:${tags[service]}`) ?? "?"}`,
      );
      arns[service] = s!.taskDefinition;
    }
    return arns;
  }

  async function expectUnlocked(): Promise<void> {
    const lock = new DeployLock(new S3Store(aws.s3, SANDBOX_STATE_BUCKET, "gantry"), ENV, {
      now: () => Date.now(),
      host: "test",
      isAlive: () => true,
    });
    expect(await lock.holder()).toBeUndefined();
  }

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-images-"));
    configDir = await mkdtemp(path.join(os.tmpdir(), "gantry-images-config-"));
    await copyFile(path.join(workerSandbox().dir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
    await configure(REPOS.web);
    aws = createAwsClients({ region: "us-east-1", endpoint });
    ecs = new EcsAdapter(aws.ecs);
    await control.setSpeeds({ rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 });
    const publish = async (repository: string, tags: string[]): Promise<void> => {
      const published: PublishedImage[] = await control.publishImages(repository, tags);
      for (const p of published) digests.set(`${repository}:${p.tag}`, p.digest);
    };
    await publish(REPOS.api, [v1, v2, vBad, vApiOnly, v3]);
    await publish(REPOS.web, [v1, v2, vBad, v3]);
    await control.addFault({ tag: vBad, kind: "health" });
  });

  afterAll(async () => {
    const destroyed = await gantry("stack", "destroy", "--env", ENV);
    aws.destroy();
    await rm(stateDir, { recursive: true, force: true });
    await rm(configDir, { recursive: true, force: true });
    expect(destroyed.code, destroyed.stderr).toBe(0);
  }, 120_000);

  it("GIVEN Pulumi.qa.yaml in the config folder WHEN an unknown environment is named THEN exit 2 listing qa", async () => {
    const run = await gantry("deploy", "--env", "nope", "--tag", v1);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Choices: "qa"|one of: qa/);
  });

  it("GIVEN two services with their own images WHEN v1 is deployed THEN exit 0 and each service runs its own repository's digest", async () => {
    const run = await deploy("--tag", v1);
    expect(run.code, run.stderr).toBe(0);
    expect(run.record.services?.map((s) => [s.name, s.image, s.tag, s.digest, s.outcome])).toEqual([
      ["api", REPOS.api, v1, digests.get(`${REPOS.api}:${v1}`), "released"],
      ["web", REPOS.web, v1, digests.get(`${REPOS.web}:${v1}`), "released"],
    ]);
    expect(digests.get(`${REPOS.api}:${v1}`)).not.toBe(digests.get(`${REPOS.web}:${v1}`));
    await expectServing({ api: v1, web: v1 });
    await expectUnlocked();
  });

  it("GIVEN a tag pushed to api's repository only WHEN deployed THEN exit 1 naming web's missing image, nothing changed", async () => {
    const before = await expectServing({ api: v1, web: v1 });
    const run = await deploy("--tag", vApiOnly);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`image not found: ${REPOS.web}:${vApiOnly} (web)`);
    expect(run.record.services?.map((s) => s.outcome)).toEqual(["unchanged", "unchanged"]);
    expect(await expectServing({ api: v1, web: v1 })).toEqual(before);
    await expectUnlocked();
  });

  it("GIVEN web at a tag whose health answers 500 and api at a good one WHEN deployed THEN both are rolled back and verified: exit 3, both on their previous task definitions", async () => {
    const before = await expectServing({ api: v1, web: v1 });
    const run = await deploy("--tag", v2, "--image", `web=${vBad}`, "--skip-snapshot");
    expect(run.code, run.stderr).toBe(3);
    expect(run.record.status).toBe("rolled_back");
    expect(run.record.services?.map((s) => [s.name, s.tag, s.outcome, s.current?.tag])).toEqual([
      ["api", v2, "rolled_back", v1],
      ["web", vBad, "rolled_back", v1],
    ]);
    expect(await expectServing({ api: v1, web: v1 })).toEqual(before);
    await expectUnlocked();
  });

  it("GIVEN --services api WHEN deployed THEN only api changes; web keeps its task definition and is recorded unchanged", async () => {
    const before = await expectServing({ api: v1, web: v1 });
    const run = await deploy("--services", "api", "--tag", v3, "--reason", "api only");
    expect(run.code, run.stderr).toBe(0);
    expect(run.record.services?.map((s) => [s.name, s.tag, s.outcome])).toEqual([
      ["api", v3, "released"],
      ["web", null, "unchanged"],
    ]);
    expect(run.record).toMatchObject({ reason: "api only", trigger: "terminal" });
    const after = await expectServing({ api: v3, web: v1 });
    expect(after.web).toBe(before.web);
    expect(after.api).not.toBe(before.api);
    const history = await gantry("history", "--env", ENV, "--limit", "1");
    expect(history.stdout).toMatch(/ api +"api only" /);
    await expectUnlocked();
  });

  describe.each([
    { auth: "basic", name: "Basic (htpasswd)" },
    { auth: "bearer", name: "Bearer (a token from the realm it names)" },
  ])("GIVEN web's image in the sandbox registry with $name auth", ({ auth }) => {
    it("WHEN deployed with the right credentials THEN exit 0, web runs registry/name@digest, the password never printed", async () => {
      const registry = (await control.registries()).find((r) => r.auth === auth);
      expect(registry, "the sandbox's registries (SPEC R27)").toBeDefined();
      const image = `${registry!.host}/acme/web`;
      const tag = `i-reg-${auth}-${suffix}`;
      await control
        .publishImages(REPOS.api, [tag])
        .then((p) => digests.set(`${REPOS.api}:${tag}`, p[0]!.digest));
      const [published] = await control.publishRegistryImages(image, [tag]);
      await configure(image, {
        [registry!.host]: { username: registry!.username, password: { fromEnv: "REGISTRY_PASSWORD" } },
      });
      registryPassword = registry!.password;

      const run = await deploy("--tag", tag, "--skip-snapshot");

      expect(run.code, run.stderr).toBe(0);
      expect(run.record.services?.find((s) => s.name === "web")).toMatchObject({
        image,
        tag,
        digest: published!.digest,
        outcome: "released",
      });
      const web = await ecs.describeService(CLUSTER, "web");
      const definition = await ecs.describeTaskDefinition(web!.taskDefinition);
      expect(definition.containerDefinitions?.[0]?.image).toBe(`${image}@${published!.digest}`);
      expect(containerVersion(definition, "web")).toBe(tag);
      expect(web?.deployments.map((d) => [d.status, d.rolloutState])).toEqual([["PRIMARY", "COMPLETED"]]);
      expect(run.stdout + run.stderr).not.toContain(registry!.password);
      await expectUnlocked();
    });
  });

  it("GIVEN wrong registry credentials WHEN deployed THEN exit 1 naming the image and the key to fix, nothing changed", async () => {
    const registry = (await control.registries()).find((r) => r.auth === "basic")!;
    const image = `${registry.host}/acme/web`;
    const tag = `i-reg-wrong-${suffix}`;
    await control.publishImages(REPOS.api, [tag]);
    await control.publishRegistryImages(image, [tag]);
    await configure(image, {
      [registry.host]: { username: registry.username, password: { fromEnv: "REGISTRY_PASSWORD" } },
    });
    registryPassword = "not-the-password-at-all";
    const before = await Promise.all(
      ["api", "web"].map(async (s) => (await ecs.describeService(CLUSTER, s))?.taskDefinition),
    );

    const run = await deploy("--tag", tag, "--skip-snapshot");

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(image);
    expect(run.stderr).toMatch(/hint: .*gantry:registries/);
    expect(run.stdout + run.stderr).not.toContain("not-the-password-at-all");
    const after = await Promise.all(
      ["api", "web"].map(async (s) => (await ecs.describeService(CLUSTER, s))?.taskDefinition),
    );
    expect(after).toEqual(before);
    await expectUnlocked();
  });
});
