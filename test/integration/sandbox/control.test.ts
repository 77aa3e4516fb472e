/**
 * Sandbox AWS endpoint and control API (sandbox/SPEC.md).
 * Rules covered: R5 (one endpoint, dispatch by credential scope), R6 (plain moto), R7 (control
 * API conventions), R8 (speeds, incl. "kept at creation"), R9 (health), R11 (images), R12 (image
 * → tag), R13 (fault API), R14 (task-rule API), R15 (provisioning).
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
} from "@aws-sdk/client-ecr";
import {
  CreateClusterCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListClustersCommand,
} from "@aws-sdk/client-ecs";
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  CreateDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
} from "@aws-sdk/client-rds";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { FAULT_KINDS, SandboxControl, type Fault } from "../../../src/sandbox/control.ts";
import {
  ACCOUNT,
  describeService,
  describeTask,
  gantry,
  getHealth,
  listResources,
  provision,
  provisionService,
  provisionTaskDefinition,
  provisionTaskEnv,
  release,
  restoreSpeeds,
  runTask,
  serviceTasks,
  signedQuery,
  uid,
  unprovision,
  waitFor,
  xmlValues,
  type NetworkOutputs,
} from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const sandboxDir = workerSandbox().dir;
const control = new SandboxControl(endpoint);
let aws: AwsClients;

beforeAll(async () => {
  aws = createAwsClients({ region: "us-east-1", endpoint });
  await restoreSpeeds(endpoint);
});

afterAll(async () => {
  await restoreSpeeds(endpoint);
  aws.destroy();
});

function expectControlError(res: { status: number; body: unknown }, status: number): void {
  expect(res.status).toBe(status);
  const body = res.body as { error?: unknown; hint?: unknown };
  expect(typeof body.error).toBe("string");
  expect(String(body.error).length).toBeGreaterThan(0);
  expect(typeof body.hint).toBe("string");
  expect(String(body.hint).length).toBeGreaterThan(0);
}

// ---------------------------------------------------------------------------------------------
describe("R5 one endpoint for every AWS service", () => {
  describe.each([
    {
      service: "ecs",
      call: async (a: AwsClients) =>
        (await a.ecs.send(new ListClustersCommand({}))).clusterArns !== undefined,
    },
    {
      service: "ecr",
      call: async (a: AwsClients) =>
        (await a.ecr.send(new DescribeRepositoriesCommand({}))).repositories !== undefined,
    },
    {
      service: "rds",
      call: async (a: AwsClients) =>
        (await a.rds.send(new DescribeDBInstancesCommand({}))).DBInstances !== undefined,
    },
    {
      service: "elasticloadbalancing",
      call: async (a: AwsClients) =>
        (await a.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers !== undefined,
    },
    {
      service: "monitoring (JSON 1.0)",
      call: async (a: AwsClients) =>
        (await a.cloudwatch.send(new DescribeAlarmsCommand({}))).MetricAlarms !== undefined,
    },
    {
      service: "logs",
      call: async (a: AwsClients) =>
        (await a.logs.send(new DescribeLogGroupsCommand({}))).logGroups !== undefined,
    },
    {
      service: "s3",
      call: async (a: AwsClients) => (await a.s3.send(new ListBucketsCommand({}))).Buckets !== undefined,
    },
  ])("$service", ({ call }) => {
    it("GIVEN the sandbox endpoint WHEN the SDK v3 client calls a read operation THEN it answers", async () => {
      expect(await call(aws)).toBe(true);
    });
  });

  describe.each([
    { service: "sts", params: { Action: "GetCallerIdentity", Version: "2011-06-15" }, element: "Account" },
    { service: "ec2", params: { Action: "DescribeVpcs", Version: "2016-11-15" }, element: "ownerId" },
    { service: "iam", params: { Action: "ListRoles", Version: "2010-05-08" }, element: "IsTruncated" },
  ])("$service", ({ service, params, element }) => {
    it("GIVEN a SigV4 request scoped to the service WHEN posted to / THEN that service answers", async () => {
      const res = await signedQuery(endpoint, service, "us-east-1", params);
      expect(res.status).toBe(200);
      expect(res.text).toContain(`${params.Action}Response`);
      expect(xmlValues(res.text, element).length).toBeGreaterThan(0);
    });
  });

  it("GIVEN arbitrary credentials WHEN STS GetCallerIdentity is called THEN the account is 123456789012", async () => {
    for (const accessKeyId of ["AKIARANDOM" + uid("k").slice(2).toUpperCase(), "111122223333"]) {
      const res = await signedQuery(
        endpoint,
        "sts",
        "us-east-1",
        { Action: "GetCallerIdentity", Version: "2011-06-15" },
        { accessKeyId, secretAccessKey: "whatever" },
      );
      expect(res.status).toBe(200);
      expect(xmlValues(res.text, "Account")).toEqual([ACCOUNT]);
    }
  });

  it("GIVEN a cluster created with a eu-west-1 scope WHEN clusters are listed per region THEN only eu-west-1 has it", async () => {
    const name = uid("region");
    const creds = { accessKeyId: uid("anykey"), secretAccessKey: uid("anysecret") };
    const eu = new ECSClient({ region: "eu-west-1", endpoint, credentials: creds });
    try {
      const created = await eu.send(new CreateClusterCommand({ clusterName: name }));
      expect(created.cluster?.clusterArn).toBe(`arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/${name}`);
      const inEu = await eu.send(new ListClustersCommand({}));
      const inUs = await aws.ecs.send(new ListClustersCommand({}));
      expect(inEu.clusterArns).toContain(created.cluster?.clusterArn);
      expect((inUs.clusterArns ?? []).some((arn) => arn.endsWith(`/${name}`))).toBe(false);
    } finally {
      eu.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("R6 plain moto behaviour", () => {
  it("GIVEN a bucket WHEN an object is put and read back path-style THEN the content round-trips", async () => {
    const bucket = uid("bucket");
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: "a/b.txt", Body: "hello sandbox" }));
    const got = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: "a/b.txt" }));
    expect(await got.Body?.transformToString()).toBe("hello sandbox");
  });

  it("GIVEN an existing ECR repository WHEN it is created again THEN moto's RepositoryAlreadyExistsException is returned", async () => {
    const name = uid("dup");
    await aws.ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await expect(aws.ecr.send(new CreateRepositoryCommand({ repositoryName: name }))).rejects.toMatchObject({
      name: "RepositoryAlreadyExistsException",
    });
  });

  it("GIVEN no such service WHEN DescribeServices is called THEN it is reported MISSING", async () => {
    const cluster = uid("c");
    await aws.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    const res = await aws.ecs.send(new DescribeServicesCommand({ cluster, services: ["nope"] }));
    expect(res.services).toEqual([]);
    expect(res.failures?.[0]?.reason).toBe("MISSING");
  });
});

// ---------------------------------------------------------------------------------------------
describe("R7 control API conventions", () => {
  describe.each([
    { what: "an unknown path", method: "GET", path: "no-such-endpoint", body: undefined, status: 404 },
    { what: "an unknown nested path", method: "GET", path: "health/extra", body: undefined, status: 404 },
    {
      what: "an unknown resource kind",
      method: "GET",
      path: "resources/spaceship/x",
      body: undefined,
      status: 404,
    },
    {
      what: "an absent resource",
      method: "GET",
      path: `resources/cluster/${uid("absent")}`,
      body: undefined,
      status: 404,
    },
    { what: "PUT on health", method: "PUT", path: "health", body: {}, status: 405 },
    { what: "DELETE on speed", method: "DELETE", path: "speed", body: undefined, status: 405 },
    { what: "GET on reset", method: "GET", path: "reset", body: undefined, status: 405 },
    { what: "GET on images", method: "GET", path: "images", body: undefined, status: 405 },
    { what: "POST on the resource list", method: "POST", path: "resources", body: {}, status: 405 },
    { what: "invalid JSON", method: "POST", path: "faults", body: "{not json", status: 400 },
    { what: "a JSON array body", method: "POST", path: "speed", body: "[1, 2]", status: 400 },
    { what: "a negative speed", method: "POST", path: "speed", body: { rolloutSeconds: -1 }, status: 400 },
    { what: "a zero speed", method: "POST", path: "speed", body: { taskSeconds: 0 }, status: 400 },
    { what: "a string speed", method: "POST", path: "speed", body: { snapshotSeconds: "fast" }, status: 400 },
    {
      what: "an unknown fault kind",
      method: "POST",
      path: "faults",
      body: { tag: "x", kind: "explode" },
      status: 400,
    },
    { what: "a fault without tag", method: "POST", path: "faults", body: { kind: "health" }, status: 400 },
    {
      what: "a non-integer exitCode",
      method: "POST",
      path: "task-rules",
      body: { exitCode: "one" },
      status: 400,
    },
    {
      what: "images without tags",
      method: "POST",
      path: "images",
      body: { repository: "r", tags: [] },
      status: 400,
    },
  ])("$what", ({ method, path: urlPath, body, status }) => {
    it(`GIVEN ${method} /_gantry/${urlPath} WHEN sent THEN ${status} with a JSON error and hint`, async () => {
      expectControlError(await gantry(endpoint, method, urlPath, body), status);
    });
  });

  it("GIVEN valid requests WHEN sent THEN 200 with a JSON body, and DELETE of a resource answers 204", async () => {
    const res = await fetch(`${endpoint}/_gantry/speed`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(typeof (await res.json())).toBe("object");
    const name = uid("conv");
    expect((await gantry(endpoint, "PUT", `resources/cluster/${name}`, {})).status).toBe(200);
    expect(await unprovision(endpoint, "cluster", name)).toBe(204);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R8 speeds", () => {
  afterEach(async () => {
    await restoreSpeeds(endpoint);
  });

  it("GIVEN the shared sandbox WHEN GET /_gantry/speed THEN it shows the speeds given on its command line", async () => {
    const res = await gantry(endpoint, "GET", "speed");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 });
  });

  it("GIVEN a subset of keys with a float WHEN POSTed THEN only those change and all current values are returned", async () => {
    const res = await gantry(endpoint, "POST", "speed", { rolloutSeconds: 0.75 });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ rolloutSeconds: 0.75, snapshotSeconds: 1, taskSeconds: 1 });
    const res2 = await gantry(endpoint, "POST", "speed", { snapshotSeconds: 2.5, taskSeconds: 3 });
    expect(res2.body).toEqual({ rolloutSeconds: 0.75, snapshotSeconds: 2.5, taskSeconds: 3 });
    expect((await gantry(endpoint, "GET", "speed")).body).toEqual(res2.body);
    expect((await control.health()).speeds).toEqual(res2.body);
  });

  it("GIVEN an invalid value WHEN POSTed THEN 400 and no speed changes", async () => {
    const res = await gantry(endpoint, "POST", "speed", { rolloutSeconds: 5, taskSeconds: -2 });
    expectControlError(res, 400);
    expect((await gantry(endpoint, "GET", "speed")).body).toEqual({
      rolloutSeconds: 2,
      snapshotSeconds: 1,
      taskSeconds: 1,
    });
  });

  it("GIVEN deployments created before and after a rollout speed change THEN each keeps the speed current at its creation", async () => {
    const [a, b] = await Promise.all([
      provisionService(endpoint, "spd-a", { tags: [uid("v1"), uid("v2")], desiredCount: 1 }),
      provisionService(endpoint, "spd-b", { tags: [uid("v1"), uid("v2")], desiredCount: 1 }),
    ]);
    await control.setSpeeds({ rolloutSeconds: 1 });
    const relA = await release(aws, a, a.tags[1]!);
    await control.setSpeeds({ rolloutSeconds: 4 });
    const relB = await release(aws, b, b.tags[1]!);
    // N = 1: the new task turns RUNNING at c + 0.3R.
    const taskOf = async (fixture: typeof a, startedBy: string) =>
      waitFor(
        async () =>
          (await serviceTasks(aws, fixture)).find(
            (t) => t.startedBy === startedBy && t.startedAt !== undefined,
          ),
        { timeoutMs: 10_000, what: "the new task RUNNING" },
      );
    const ta = await taskOf(a, relA.deployment.id!);
    const tb = await taskOf(b, relB.deployment.id!);
    expect(ta.startedAt!.getTime() - relA.c).toBeGreaterThanOrEqual(300 - 5);
    expect(ta.startedAt!.getTime() - relA.c).toBeLessThanOrEqual(300 + 15);
    expect(tb.startedAt!.getTime() - relB.c).toBeGreaterThanOrEqual(1200 - 5);
    expect(tb.startedAt!.getTime() - relB.c).toBeLessThanOrEqual(1200 + 15);
    // A completes at c + 1 s although the current speed is 4 s.
    const done = await waitFor(
      async () => {
        const d = (await describeService(aws, a)).deployments?.find((x) => x.id === relA.deployment.id);
        return d?.rolloutState === "COMPLETED" ? d : undefined;
      },
      { timeoutMs: 10_000, what: "deployment A COMPLETED" },
    );
    expect(done.updatedAt!.getTime() - relA.c).toBeGreaterThanOrEqual(1000 - 5);
    expect(done.updatedAt!.getTime() - relA.c).toBeLessThanOrEqual(1000 + 15);
  });

  it("GIVEN tasks run before and after a task speed change THEN each keeps the speed current at its creation", async () => {
    const env = await provisionTaskEnv(endpoint, "spd-t", [uid("v1")]);
    const td = await provisionTaskDefinition(endpoint, env, "td", {
      image: Object.values(env.images)[0]!.imageUri,
      command: ["sleep", "1"],
    });
    await control.setSpeeds({ taskSeconds: 1 });
    const x = await runTask(aws, env, td);
    await control.setSpeeds({ taskSeconds: 3 });
    const y = await runTask(aws, env, td);
    const stoppedX = await waitFor(
      async () => {
        const t = await describeTask(aws, env.cluster, x.value.taskArn!);
        return t.lastStatus === "STOPPED" ? t : undefined;
      },
      { timeoutMs: 10_000, what: "task X STOPPED" },
    );
    const runningY = await waitFor(
      async () => {
        const t = await describeTask(aws, env.cluster, y.value.taskArn!);
        return t.startedAt ? t : undefined;
      },
      { timeoutMs: 10_000, what: "task Y started" },
    );
    const cx = stoppedX.createdAt!.getTime();
    const cy = runningY.createdAt!.getTime();
    expect(stoppedX.stoppedAt!.getTime() - cx).toBeGreaterThanOrEqual(1000 - 5);
    expect(stoppedX.stoppedAt!.getTime() - cx).toBeLessThanOrEqual(1000 + 15);
    expect(runningY.startedAt!.getTime() - cy).toBeGreaterThanOrEqual(750 - 5);
    expect(runningY.startedAt!.getTime() - cy).toBeLessThanOrEqual(750 + 15);
  });

  it("GIVEN snapshots created before and after a snapshot speed change THEN each keeps the speed current at its creation", async () => {
    const db = uid("spd-db");
    await provision(endpoint, "dbInstance", db, { instanceClass: "db.t3.micro", allocatedStorage: 20 });
    await control.setSpeeds({ snapshotSeconds: 1 });
    const fast = uid("fast");
    await aws.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: db, DBSnapshotIdentifier: fast }));
    await control.setSpeeds({ snapshotSeconds: 30 });
    const slow = uid("slow");
    const slowCreated = Date.now();
    await aws.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: db, DBSnapshotIdentifier: slow }));
    await waitFor(
      async () => {
        const s = await aws.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: fast }));
        return s.DBSnapshots?.[0]?.Status === "available";
      },
      { timeoutMs: 10_000, what: "the fast snapshot available" },
    );
    const t1Before = Date.now();
    const s = await aws.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: slow }));
    const t1 = Date.now();
    expect(t1Before - slowCreated).toBeLessThan(25_000);
    expect(s.DBSnapshots?.[0]?.Status).toBe("creating");
    expect(s.DBSnapshots?.[0]?.PercentProgress).toBeLessThanOrEqual(
      Math.floor((100 * (t1 - slowCreated)) / 30_000),
    );
  });
});

// ---------------------------------------------------------------------------------------------
describe("R9 health", () => {
  it("GIVEN the shared sandbox WHEN GET /_gantry/health THEN ok, its pid and port, an epoch, the speeds and moto 5.2.5", async () => {
    const record = JSON.parse(await readFile(path.join(sandboxDir, "sandbox.json"), "utf8")) as {
      pid: number;
      port: number;
    };
    const res = await gantry<Record<string, unknown>>(endpoint, "GET", "health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      pid: record.pid,
      port: record.port,
      epoch: expect.any(String) as unknown,
      speeds: { rolloutSeconds: 2, snapshotSeconds: 1, taskSeconds: 1 },
      motoVersion: "5.2.5",
    });
    expect(String(res.body.epoch).length).toBeGreaterThan(0);
    // The epoch changes only at a process start or a reset.
    expect((await control.health()).epoch).toBe(res.body.epoch);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R11 images", () => {
  it("GIVEN tags WHEN published THEN one entry per tag in order, sha256 digests of OCI manifests, and ECR shows them", async () => {
    const repository = uid("img");
    const tags = ["v2.0.0", "v1.0.0", "latest-ish"];
    const res = await gantry<{ images: { tag: string; digest: string; imageUri: string }[] }>(
      endpoint,
      "POST",
      "images",
      { repository, tags },
    );
    expect(res.status).toBe(200);
    const images = res.body.images;
    expect(images.map((i) => i.tag)).toEqual(tags);
    for (const img of images) {
      expect(img.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(img.imageUri).toBe(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/${repository}@${img.digest}`);
    }
    expect(new Set(images.map((i) => i.digest)).size).toBe(tags.length);

    const repos = await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] }));
    expect(repos.repositories?.[0]?.repositoryName).toBe(repository);
    const described = await aws.ecr.send(new DescribeImagesCommand({ repositoryName: repository }));
    const byDigest = new Map((described.imageDetails ?? []).map((d) => [d.imageDigest, d.imageTags ?? []]));
    for (const img of images) expect(byDigest.get(img.digest)).toEqual([img.tag]);

    const got = await aws.ecr.send(
      new BatchGetImageCommand({
        repositoryName: repository,
        imageIds: tags.map((imageTag) => ({ imageTag })),
      }),
    );
    expect(got.images).toHaveLength(tags.length);
    for (const image of got.images ?? []) {
      const manifest = JSON.parse(image.imageManifest!) as {
        mediaType: string;
        annotations: Record<string, string>;
      };
      expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
      expect(manifest.annotations["org.opencontainers.image.version"]).toBe(image.imageId?.imageTag);
      const digest = `sha256:${createHash("sha256").update(image.imageManifest!).digest("hex")}`;
      expect(digest).toBe(image.imageId?.imageDigest);
      expect(images.find((i) => i.tag === image.imageId?.imageTag)?.digest).toBe(digest);
    }
  });

  it("GIVEN a published tag WHEN published again THEN the same digest and ECR is unchanged", async () => {
    const repository = uid("img");
    const first = await control.publishImages(repository, ["v1"]);
    const again = await control.publishImages(repository, ["v1", "v2"]);
    expect(again[0]).toEqual(first[0]);
    const described = await aws.ecr.send(new DescribeImagesCommand({ repositoryName: repository }));
    expect(described.imageDetails).toHaveLength(2);
  });

  it("GIVEN a region WHEN images are published THEN the repository and URI are in that region", async () => {
    const repository = uid("img");
    const res = await gantry<{ images: { imageUri: string; digest: string }[] }>(endpoint, "POST", "images", {
      repository,
      tags: ["v1"],
      region: "eu-west-1",
    });
    expect(res.status).toBe(200);
    const img = res.body.images[0]!;
    expect(img.imageUri).toBe(`${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/${repository}@${img.digest}`);
    const eu = new ECRClient({
      region: "eu-west-1",
      endpoint,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    try {
      const described = await eu.send(new DescribeImagesCommand({ repositoryName: repository }));
      expect(described.imageDetails?.map((d) => d.imageDigest)).toEqual([img.digest]);
    } finally {
      eu.destroy();
    }
    await expect(
      aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repository] })),
    ).rejects.toMatchObject({ name: "RepositoryNotFoundException" });
  });
});

// ---------------------------------------------------------------------------------------------
describe("R12 image → tag (seen as the service health endpoint's version)", () => {
  const unknownDigest = `sha256:${"ab".repeat(32)}`;
  describe.each([
    {
      form: "repo@<digest published for the tag>",
      image: (p: Published) => p.images[p.tag]!.imageUri,
      expected: (p: Published) => p.tag,
    },
    {
      form: "repo:tag",
      image: (p: Published) => `${p.repositoryUrl}:r12-explicit`,
      expected: () => "r12-explicit",
    },
    { form: "repo without tag", image: (p: Published) => p.repositoryUrl, expected: () => "latest" },
    {
      form: "registry:port/path/repo (colon outside the last segment)",
      image: () => "localhost:5000/team/app",
      expected: () => "latest",
    },
    {
      form: "registry:port/path/repo:tag",
      image: () => "localhost:5000/team/app:2.1",
      expected: () => "2.1",
    },
    {
      form: "repo@<unknown digest>",
      image: (p: Published) => `${p.repositoryUrl}@${unknownDigest}`,
      expected: () => unknownDigest,
    },
  ])("$form", ({ image, expected }) => {
    it("GIVEN a service whose task definition uses that image WHEN its health endpoint is read THEN version is the tag", async () => {
      const tag = uid("r12");
      const fixture = await provisionService(endpoint, "r12", {
        tags: [tag],
        desiredCount: 1,
        targetGroup: false,
        image: ({ repositoryUrl, images }) => image({ repositoryUrl, images, tag }),
      });
      const published = { repositoryUrl: fixture.repositoryUrl, images: fixture.images, tag };
      const health = await getHealth(fixture.healthUrl);
      expect(health.status).toBe(200);
      expect(health.body.version).toBe(expected(published));
    });
  });
});

interface Published {
  repositoryUrl: string;
  images: Record<string, { imageUri: string }>;
  tag: string;
}

// ---------------------------------------------------------------------------------------------
describe("R13 fault API", () => {
  const listed = async (tags: string[]): Promise<Fault[]> =>
    (await control.faults()).filter((f) => tags.includes(f.tag));

  describe.each(FAULT_KINDS)("kind %s", (kind) => {
    it("GIVEN a tag WHEN the fault is POSTed twice THEN it is listed once (idempotent)", async () => {
      const tag = uid("f");
      const first = await gantry<{ faults: Fault[] }>(endpoint, "POST", "faults", { tag, kind });
      expect(first.status).toBe(200);
      expect(first.body.faults.filter((f) => f.tag === tag)).toEqual([{ tag, kind }]);
      const second = await gantry<{ faults: Fault[] }>(endpoint, "POST", "faults", { tag, kind });
      expect(second.body.faults.filter((f) => f.tag === tag)).toEqual([{ tag, kind }]);
      expect(await listed([tag])).toEqual([{ tag, kind }]);
      await control.clearFaults(tag);
    });
  });

  it("GIVEN one tag WHEN several kinds and an alarm fault with alarmName are added THEN all are listed, alarmName only on the alarm", async () => {
    const tag = uid("f");
    await control.addFault({ tag, kind: "health" });
    await control.addFault({ tag, kind: "rollout" });
    await control.addFault({ tag, kind: "alarm", alarmName: "cpu-high" });
    const faults = await listed([tag]);
    expect(faults).toHaveLength(3);
    expect(faults).toContainEqual({ tag, kind: "health" });
    expect(faults).toContainEqual({ tag, kind: "rollout" });
    expect(faults).toContainEqual({ tag, kind: "alarm", alarmName: "cpu-high" });
    await control.clearFaults(tag);
  });

  it("GIVEN alarmName on a non-alarm kind WHEN POSTed THEN 400 and nothing is added", async () => {
    const tag = uid("f");
    expectControlError(
      await gantry(endpoint, "POST", "faults", { tag, kind: "health", alarmName: "x" }),
      400,
    );
    expect(await listed([tag])).toEqual([]);
  });

  it("GIVEN faults on two tags WHEN DELETE ?tag=<first> THEN only the first tag's faults go and the rest is returned", async () => {
    const a = uid("fa");
    const b = uid("fb");
    await control.addFault({ tag: a, kind: "health" });
    await control.addFault({ tag: a, kind: "migration" });
    await control.addFault({ tag: b, kind: "wrong-version" });
    const res = await gantry<{ faults: Fault[] }>(endpoint, "DELETE", `faults?tag=${a}`);
    expect(res.status).toBe(200);
    expect(res.body.faults.filter((f) => [a, b].includes(f.tag))).toEqual([
      { tag: b, kind: "wrong-version" },
    ]);
    expect(await listed([a, b])).toEqual([{ tag: b, kind: "wrong-version" }]);
    await control.clearFaults(b);
  });

  it("GIVEN faults WHEN DELETE without tag THEN every fault is removed", async () => {
    await control.addFault({ tag: uid("f"), kind: "health" });
    await control.addFault({ tag: uid("f"), kind: "alarm" });
    const res = await gantry<{ faults: Fault[] }>(endpoint, "DELETE", "faults");
    expect(res.status).toBe(200);
    expect(res.body.faults).toEqual([]);
    expect(await control.faults()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R14 task-rule API", () => {
  it("GIVEN rules WHEN POSTed THEN appended in order; GET lists them; DELETE clears them", async () => {
    await gantry(endpoint, "DELETE", "task-rules");
    const r1 = { image: "v9-*", exitCode: 3 };
    const r2 = { commandContains: "migrate", exitCode: 4 };
    const r3 = { image: "*/app:*", commandContains: "seed", exitCode: 0 };
    const a = await gantry<{ rules: unknown[] }>(endpoint, "POST", "task-rules", r1);
    expect(a.status).toBe(200);
    expect(a.body.rules).toEqual([r1]);
    await gantry(endpoint, "POST", "task-rules", r2);
    const c = await gantry<{ rules: unknown[] }>(endpoint, "POST", "task-rules", r3);
    expect(c.body.rules).toEqual([r1, r2, r3]);
    expect((await gantry<{ rules: unknown[] }>(endpoint, "GET", "task-rules")).body).toEqual({
      rules: [r1, r2, r3],
    });
    const d = await gantry<{ rules: unknown[] }>(endpoint, "DELETE", "task-rules");
    expect(d.status).toBe(200);
    expect(d.body).toEqual({ rules: [] });
    expect((await gantry<{ rules: unknown[] }>(endpoint, "GET", "task-rules")).body).toEqual({ rules: [] });
  });
});

// ---------------------------------------------------------------------------------------------
describe("R15 provisioning", () => {
  interface Base {
    network: NetworkOutputs;
    cluster: string;
    taskDefinitionArn: string;
    targetGroupArn: string;
    image: string;
  }
  let base: Base;

  beforeAll(async () => {
    const name = uid("r15");
    const network = await provision<NetworkOutputs>(endpoint, "network", `${name}-net`, {});
    const cluster = await provision<{ clusterName: string }>(endpoint, "cluster", name, {});
    const [img] = await control.publishImages(name, [uid("v1")]);
    const td = await provision<{ taskDefinitionArn: string }>(endpoint, "taskDefinition", name, {
      family: name,
      containerName: "app",
      image: img!.imageUri,
      cpu: 256,
      memory: 512,
    });
    const tg = await provision<{ targetGroupArn: string }>(endpoint, "targetGroup", name, {
      vpcId: network.outputs.vpcId,
    });
    base = {
      network: network.outputs,
      cluster: cluster.outputs.clusterName,
      taskDefinitionArn: td.outputs.taskDefinitionArn,
      targetGroupArn: tg.outputs.targetGroupArn,
      image: img!.imageUri,
    };
  });

  type Outputs = Record<string, unknown>;
  interface KindCase {
    kind: string;
    outputKeys: string[];
    inputs: (name: string) => Record<string, unknown>;
    verify: (name: string, outputs: Outputs) => Promise<void>;
    gone: (name: string, outputs: Outputs) => Promise<void>;
  }

  const ec2 = (params: Record<string, string>): Promise<{ status: number; text: string }> =>
    signedQuery(endpoint, "ec2", "us-east-1", { Version: "2016-11-15", ...params });

  const cases: KindCase[] = [
    {
      kind: "network",
      outputKeys: ["securityGroupIds", "subnetIds", "vpcId"],
      inputs: () => ({ cidrBlock: "10.42.0.0/16" }),
      verify: async (name, o) => {
        expect(o.subnetIds).toHaveLength(2);
        expect(o.securityGroupIds).toHaveLength(1);
        const vpcs = await ec2({ Action: "DescribeVpcs", "VpcId.1": String(o.vpcId) });
        expect(xmlValues(vpcs.text, "cidrBlock")).toContain("10.42.0.0/16");
        expect(vpcs.text).toMatch(new RegExp(`<key>Name</key>\\s*<value>${name}</value>`));
        const subnets = await ec2({
          Action: "DescribeSubnets",
          "Filter.1.Name": "vpc-id",
          "Filter.1.Value.1": String(o.vpcId),
        });
        expect(xmlValues(subnets.text, "subnetId").sort()).toEqual([...(o.subnetIds as string[])].sort());
        expect(xmlValues(subnets.text, "availabilityZone").sort()).toEqual(["us-east-1a", "us-east-1b"]);
        for (const cidr of xmlValues(subnets.text, "cidrBlock")) expect(cidr).toMatch(/^10\.42\.\d+\.0\/24$/);
        expect(subnets.text.match(/<key>Name<\/key>/g)).toHaveLength(2);
        const groups = await ec2({
          Action: "DescribeSecurityGroups",
          "GroupId.1": (o.securityGroupIds as string[])[0]!,
        });
        expect(xmlValues(groups.text, "groupName")).toEqual([`${name}-sg`]);
        expect(groups.text).toMatch(/<key>Name<\/key>/);
      },
      gone: async (_name, o) => {
        const vpcs = await ec2({
          Action: "DescribeVpcs",
          "Filter.1.Name": "vpc-id",
          "Filter.1.Value.1": String(o.vpcId),
        });
        expect(xmlValues(vpcs.text, "vpcId")).toEqual([]);
      },
    },
    {
      kind: "cluster",
      outputKeys: ["clusterArn", "clusterName"],
      inputs: () => ({}),
      verify: async (name, o) => {
        expect(o.clusterName).toBe(name);
        const res = await aws.ecs.send(new DescribeClustersCommand({ clusters: [name] }));
        expect(res.clusters?.[0]?.status).toBe("ACTIVE");
        expect(res.clusters?.[0]?.clusterArn).toBe(o.clusterArn);
      },
      gone: async (name) => {
        const res = await aws.ecs.send(new DescribeClustersCommand({ clusters: [name] }));
        expect(res.clusters?.filter((c) => c.status === "ACTIVE") ?? []).toEqual([]);
      },
    },
    {
      kind: "repository",
      outputKeys: ["registryId", "repositoryName", "repositoryUrl"],
      inputs: () => ({}),
      verify: async (name, o) => {
        expect(o.repositoryName).toBe(name);
        expect(o.registryId).toBe(ACCOUNT);
        const res = await aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
        expect(res.repositories?.[0]?.repositoryUri).toBe(o.repositoryUrl);
      },
      gone: async (name) => {
        await expect(
          aws.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })),
        ).rejects.toMatchObject({ name: "RepositoryNotFoundException" });
      },
    },
    {
      kind: "logGroup",
      outputKeys: ["logGroupName"],
      inputs: () => ({}),
      verify: async (name, o) => {
        expect(o.logGroupName).toBe(name);
        const res = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
        expect(res.logGroups?.map((g) => [g.logGroupName, g.retentionInDays])).toEqual([[name, 30]]);
      },
      gone: async (name) => {
        const res = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
        expect(res.logGroups).toEqual([]);
      },
    },
    {
      kind: "targetGroup",
      outputKeys: ["loadBalancerArn", "targetGroupArn"],
      inputs: () => ({ vpcId: base.network.vpcId, port: 9090, healthCheckPath: "/ready" }),
      verify: async (name, o) => {
        const tgs = await aws.elb.send(
          new DescribeTargetGroupsCommand({ TargetGroupArns: [String(o.targetGroupArn)] }),
        );
        const tg = tgs.TargetGroups![0]!;
        expect(tg).toMatchObject({
          Protocol: "HTTP",
          TargetType: "ip",
          Port: 9090,
          HealthCheckPath: "/ready",
          VpcId: base.network.vpcId,
        });
        expect(tg.LoadBalancerArns).toEqual([o.loadBalancerArn]);
        const lbs = await aws.elb.send(
          new DescribeLoadBalancersCommand({ LoadBalancerArns: [String(o.loadBalancerArn)] }),
        );
        const lb = lbs.LoadBalancers![0]!;
        expect(lb).toMatchObject({
          LoadBalancerName: `${name}-alb`,
          Scheme: "internal",
          Type: "application",
        });
        expect(lb.AvailabilityZones?.map((z) => z.SubnetId).sort()).toEqual(
          [...base.network.subnetIds].sort(),
        );
        const listeners = await aws.elb.send(
          new DescribeListenersCommand({ LoadBalancerArn: String(o.loadBalancerArn) }),
        );
        expect(listeners.Listeners).toHaveLength(1);
        expect(listeners.Listeners![0]).toMatchObject({ Protocol: "HTTP", Port: 80 });
        expect(listeners.Listeners![0]!.DefaultActions?.[0]).toMatchObject({
          Type: "forward",
          TargetGroupArn: o.targetGroupArn,
        });
      },
      gone: async (_name, o) => {
        await expect(
          aws.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [String(o.targetGroupArn)] })),
        ).rejects.toMatchObject({ name: "TargetGroupNotFoundException" });
      },
    },
    {
      kind: "taskDefinition",
      outputKeys: ["family", "revision", "taskDefinitionArn"],
      inputs: (name) => ({
        family: name,
        containerName: "web",
        image: base.image,
        command: ["node", "server.js"],
        cpu: 512,
        memory: 1024,
        environment: { LOG_LEVEL: "debug", PORT: "9000" },
        containerPort: 9000,
        logGroupName: `/gantry/${name}`,
      }),
      verify: async (name, o) => {
        expect(o.family).toBe(name);
        expect(o.revision).toBe(1);
        const res = await aws.ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition: String(o.taskDefinitionArn) }),
        );
        const td = res.taskDefinition!;
        expect(td.requiresCompatibilities).toEqual(["FARGATE"]);
        expect(td.networkMode).toBe("awsvpc");
        expect([td.cpu, td.memory]).toEqual(["512", "1024"]);
        const c = td.containerDefinitions![0]!;
        expect(c.name).toBe("web");
        expect(c.image).toBe(base.image);
        expect(c.command).toEqual(["node", "server.js"]);
        expect(c.environment).toEqual(
          expect.arrayContaining([
            { name: "LOG_LEVEL", value: "debug" },
            { name: "PORT", value: "9000" },
          ]) as unknown,
        );
        expect(c.portMappings?.[0]?.containerPort).toBe(9000);
        expect(c.logConfiguration).toEqual({
          logDriver: "awslogs",
          options: {
            "awslogs-group": `/gantry/${name}`,
            "awslogs-region": "us-east-1",
            "awslogs-stream-prefix": name,
          },
        });
      },
      gone: async (_name, o) => {
        const res = await aws.ecs
          .send(new DescribeTaskDefinitionCommand({ taskDefinition: String(o.taskDefinitionArn) }))
          .catch(() => undefined);
        expect(res?.taskDefinition?.status ?? "INACTIVE").toBe("INACTIVE");
      },
    },
    {
      kind: "service",
      outputKeys: ["healthUrl", "serviceArn", "serviceName"],
      inputs: (name) => ({
        cluster: base.cluster,
        serviceName: name,
        taskDefinitionArn: base.taskDefinitionArn,
        desiredCount: 2,
        targetGroupArn: base.targetGroupArn,
        containerName: "app",
        containerPort: 8080,
        subnets: base.network.subnetIds,
        securityGroups: base.network.securityGroupIds,
        circuitBreakerRollback: false,
        alarmNames: ["r15-a", "r15-b"],
      }),
      verify: async (name, o) => {
        expect(o.serviceName).toBe(name);
        const res = await aws.ecs.send(
          new DescribeServicesCommand({ cluster: base.cluster, services: [name] }),
        );
        const svc = res.services![0]!;
        expect(svc.serviceArn).toBe(o.serviceArn);
        expect(svc.launchType).toBe("FARGATE");
        expect(svc.desiredCount).toBe(2);
        expect(svc.taskDefinition).toBe(base.taskDefinitionArn);
        expect(svc.loadBalancers).toEqual([
          { targetGroupArn: base.targetGroupArn, containerName: "app", containerPort: 8080 },
        ]);
        expect(svc.deploymentConfiguration).toEqual({
          deploymentCircuitBreaker: { enable: true, rollback: false },
          maximumPercent: 200,
          minimumHealthyPercent: 100,
          alarms: {
            alarmNames: ["r15-a", "r15-b"],
            enable: expect.any(Boolean) as unknown,
            rollback: expect.any(Boolean) as unknown,
          },
        });
        expect(o.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
        expect((await getHealth(String(o.healthUrl))).status).toBe(200);
      },
      gone: async (name, o) => {
        const res = await aws.ecs.send(
          new DescribeServicesCommand({ cluster: base.cluster, services: [name] }),
        );
        expect((res.services ?? []).filter((s) => s.status === "ACTIVE")).toEqual([]);
        await expect(fetch(String(o.healthUrl), { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
      },
    },
    {
      kind: "alarm",
      outputKeys: ["alarmArn", "alarmName"],
      inputs: () => ({
        metricName: "CPUUtilization",
        namespace: "AWS/ECS",
        threshold: 80,
        dimensions: { ClusterName: "c1", ServiceName: "s1" },
      }),
      verify: async (name, o) => {
        expect(o.alarmName).toBe(name);
        const res = await aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
        const alarm = res.MetricAlarms![0]!;
        expect(alarm).toMatchObject({
          AlarmArn: o.alarmArn,
          MetricName: "CPUUtilization",
          Namespace: "AWS/ECS",
          Threshold: 80,
          ComparisonOperator: "GreaterThanOrEqualToThreshold",
          EvaluationPeriods: 1,
          Period: 60,
          Statistic: "Average",
          StateValue: "OK",
        });
        expect(alarm.Dimensions).toEqual(
          expect.arrayContaining([
            { Name: "ClusterName", Value: "c1" },
            { Name: "ServiceName", Value: "s1" },
          ]) as unknown,
        );
      },
      gone: async (name) => {
        const res = await aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
        expect(res.MetricAlarms).toEqual([]);
      },
    },
    {
      kind: "dbInstance",
      outputKeys: ["dbInstanceArn", "dbInstanceIdentifier", "endpoint"],
      inputs: () => ({ instanceClass: "db.t3.micro", allocatedStorage: 20 }),
      verify: async (name, o) => {
        expect(o.dbInstanceIdentifier).toBe(name);
        const res = await aws.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: name }));
        const db = res.DBInstances![0]!;
        expect(db).toMatchObject({
          DBInstanceArn: o.dbInstanceArn,
          Engine: "postgres",
          MasterUsername: "gantry",
          DBInstanceClass: "db.t3.micro",
          AllocatedStorage: 20,
        });
        expect(o.endpoint).toBe(`${db.Endpoint?.Address}:5432`);
      },
      gone: async (name) => {
        await expect(
          aws.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: name })),
        ).rejects.toMatchObject({ name: "DBInstanceNotFoundFault" });
      },
    },
  ];

  describe.each(cases)("kind $kind", ({ kind, outputKeys, inputs, verify, gone }) => {
    it("GIVEN inputs WHEN PUT, PUT again, GET, listed, DELETE, DELETE again THEN the documented lifecycle and AWS sees it", async () => {
      const name = uid(`r15${kind.slice(0, 3).toLowerCase()}`);
      const body = inputs(name);
      const put = await gantry<{ id: string; outputs: Outputs }>(
        endpoint,
        "PUT",
        `resources/${kind}/${name}`,
        body,
      );
      expect(put.status, put.text).toBe(200);
      expect(typeof put.body.id).toBe("string");
      expect(Object.keys(put.body.outputs).sort()).toEqual(outputKeys);
      await verify(name, put.body.outputs);

      const again = await gantry(endpoint, "PUT", `resources/${kind}/${name}`, body);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(put.body);

      const got = await gantry(endpoint, "GET", `resources/${kind}/${name}`);
      expect(got.status).toBe(200);
      expect(got.body).toEqual(put.body);

      expect(await listResources(endpoint)).toContainEqual({
        kind,
        name,
        id: put.body.id,
        outputs: put.body.outputs,
      });

      expect(await unprovision(endpoint, kind, name)).toBe(204);
      expectControlError(await gantry(endpoint, "GET", `resources/${kind}/${name}`), 404);
      expect(await unprovision(endpoint, kind, name)).toBe(204);
      const after = await listResources(endpoint);
      expect(after.some((r) => r.kind === kind && r.name === name)).toBe(false);
      await gone(name, put.body.outputs);
    });
  });

  it("GIVEN a targetGroup without vpcId or subnets WHEN provisioned THEN its ALB uses the last provisioned network's subnets", async () => {
    const name = uid("r15last");
    const network = await provision<NetworkOutputs>(endpoint, "network", `${name}-net`, {
      cidrBlock: "10.77.0.0/16",
    });
    const tg = await provision<{ loadBalancerArn: string; targetGroupArn: string }>(
      endpoint,
      "targetGroup",
      name,
      {},
    );
    const lbs = await aws.elb.send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [tg.outputs.loadBalancerArn] }),
    );
    expect(lbs.LoadBalancers![0]!.AvailabilityZones?.map((z) => z.SubnetId).sort()).toEqual(
      [...network.outputs.subnetIds].sort(),
    );
    const tgs = await aws.elb.send(
      new DescribeTargetGroupsCommand({ TargetGroupArns: [tg.outputs.targetGroupArn] }),
    );
    expect(tgs.TargetGroups![0]).toMatchObject({
      VpcId: network.outputs.vpcId,
      Port: 8080,
      HealthCheckPath: "/health",
    });
  });

  it("GIVEN a taskDefinition WHEN an input changes THEN a new revision is registered; unchanged inputs keep it", async () => {
    const name = uid("r15td");
    const inputs = { family: name, containerName: "app", image: base.image, cpu: 256, memory: 512 };
    const first = await provision<{ revision: number; taskDefinitionArn: string }>(
      endpoint,
      "taskDefinition",
      name,
      inputs,
    );
    const changed = await provision<{ revision: number; taskDefinitionArn: string; family: string }>(
      endpoint,
      "taskDefinition",
      name,
      { ...inputs, environment: [{ name: "MODE", value: "blue" }] },
    );
    expect(changed.outputs.family).toBe(name);
    expect(changed.outputs.revision).toBe(first.outputs.revision + 1);
    expect(changed.outputs.taskDefinitionArn).not.toBe(first.outputs.taskDefinitionArn);
    const td = await aws.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: changed.outputs.taskDefinitionArn }),
    );
    expect(td.taskDefinition?.containerDefinitions?.[0]?.environment).toEqual([
      { name: "MODE", value: "blue" },
    ]);
    const same = await provision(endpoint, "taskDefinition", name, {
      ...inputs,
      environment: [{ name: "MODE", value: "blue" }],
    });
    expect(same).toEqual(changed);
  });

  it("GIVEN a service WHEN desiredCount and taskDefinitionArn change THEN the count is applied without a deployment and the ARN is ignored", async () => {
    const fixture = await provisionService(endpoint, "r15svc", {
      tags: [uid("v1"), uid("v2")],
      desiredCount: 1,
    });
    const before = await describeService(aws, fixture);
    expect(before.deployments).toHaveLength(1);
    const td2 = await provision<{ taskDefinitionArn: string }>(
      endpoint,
      "taskDefinition",
      `${fixture.name}-other`,
      {
        family: `${fixture.name}-other`,
        containerName: "app",
        image: fixture.images[fixture.tags[1]!]!.imageUri,
        cpu: 256,
        memory: 512,
      },
    );
    const res = await gantry(endpoint, "PUT", `resources/service/${fixture.name}`, {
      cluster: fixture.cluster,
      serviceName: fixture.serviceName,
      taskDefinitionArn: td2.outputs.taskDefinitionArn,
      desiredCount: 3,
      targetGroupArn: fixture.targetGroupArn,
      containerName: "app",
      containerPort: 8080,
      subnets: fixture.network.subnetIds,
      securityGroups: fixture.network.securityGroupIds,
      circuitBreakerRollback: false,
    });
    expect(res.status, res.text).toBe(200);
    const after = await describeService(aws, fixture);
    expect(after.desiredCount).toBe(3);
    expect(after.taskDefinition).toBe(fixture.initialTaskDefinitionArn);
    expect(after.deployments?.map((d) => d.id)).toEqual(before.deployments?.map((d) => d.id));
    expect(after.deploymentConfiguration?.deploymentCircuitBreaker).toEqual({
      enable: true,
      rollback: false,
    });
    const scaled = await waitFor(
      async () => {
        const svc = await describeService(aws, fixture);
        return svc.runningCount === 3 ? svc : undefined;
      },
      { timeoutMs: 10_000, what: "3 running tasks" },
    );
    expect(scaled.deployments).toHaveLength(1);
    expect(scaled.deployments?.[0]?.taskDefinition).toBe(fixture.initialTaskDefinitionArn);
  });

  it("GIVEN a logGroup and an alarm WHEN retention and threshold change THEN they are updated in place", async () => {
    const lg = uid("r15lg");
    const first = await provision(endpoint, "logGroup", lg, { retentionInDays: 7 });
    const second = await provision(endpoint, "logGroup", lg, { retentionInDays: 14 });
    expect(second.id).toBe(first.id);
    const groups = await aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: lg }));
    expect(groups.logGroups?.map((g) => g.retentionInDays)).toEqual([14]);

    const al = uid("r15al");
    const alarmInputs = { metricName: "Errors", namespace: "Gantry", threshold: 5 };
    const a1 = await provision(endpoint, "alarm", al, alarmInputs);
    const a2 = await provision(endpoint, "alarm", al, { ...alarmInputs, threshold: 9 });
    expect(a2).toEqual(a1);
    const alarms = await aws.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [al] }));
    expect(alarms.MetricAlarms?.map((m) => m.Threshold)).toEqual([9]);
    await unprovision(endpoint, "alarm", al);
  });

  it("GIVEN an unknown kind WHEN PUT THEN 404 with an error and hint", async () => {
    expectControlError(await gantry(endpoint, "PUT", `resources/spaceship/${uid("x")}`, {}), 404);
  });
});
