/**
 * Reset of the shared sandbox (sandbox/SPEC.md). It wipes everything, so it lives in its own
 * file; the sandbox is left empty with its start-up speeds, which every other file tolerates
 * (each creates its own resources under unique names).
 * Rules covered: R10 (reset, including the records of registry images, R29), R9 (epoch changes
 * at a reset).
 */
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeRepositoriesCommand } from "@aws-sdk/client-ecr";
import { CreateClusterCommand, ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { DescribeLoadBalancersCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeDBInstancesCommand } from "@aws-sdk/client-rds";
import { CreateBucketCommand, ListBucketsCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { SandboxControl } from "../../../src/sandbox/control.ts";
import {
  SHARED_SPEEDS,
  gantry,
  getHealth,
  listResources,
  provision,
  provisionService,
  restoreSpeeds,
  uid,
  type ServiceFixture,
} from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const control = new SandboxControl(endpoint);
let aws: AwsClients;
let eu: ECSClient;

beforeAll(() => {
  aws = createAwsClients({ region: "us-east-1", endpoint });
  eu = new ECSClient({
    region: "eu-west-1",
    endpoint,
    credentials: { accessKeyId: "x", secretAccessKey: "y" },
  });
});

afterAll(async () => {
  await restoreSpeeds(endpoint);
  eu.destroy();
  aws.destroy();
});

describe("R10 reset", () => {
  it("GIVEN resources, images, faults, rules, speeds and a health endpoint WHEN POST /_gantry/reset THEN all are wiped, speeds restored and a new epoch assigned", async () => {
    // Everything reset must wipe.
    const fx: ServiceFixture = await provisionService(endpoint, "reset", {
      tags: [uid("v1"), uid("v2")],
      desiredCount: 2,
    });
    const oldImage = fx.images[fx.tags[0]!]!;
    await provision(endpoint, "alarm", uid("reset-al"), { metricName: "m", namespace: "n", threshold: 1 });
    await provision(endpoint, "dbInstance", uid("reset-db"), {});
    await eu.send(new CreateClusterCommand({ clusterName: uid("reset-eu") }));
    await aws.s3.send(new CreateBucketCommand({ Bucket: uid("reset-bucket") }));
    await control.addFault({ tag: fx.tags[1]!, kind: "rollout" });
    await control.addTaskRule({ image: "*", exitCode: 3 });
    await control.setSpeeds({ rolloutSeconds: 9, snapshotSeconds: 8, taskSeconds: 7 });
    expect((await getHealth(fx.healthUrl)).status).toBe(200);
    const before = await control.health();

    const res = await gantry<{ ok: boolean; epoch: string }>(endpoint, "POST", "reset");
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(typeof res.body.epoch).toBe("string");
    expect(res.body.epoch).not.toBe(before.epoch);

    const after = await control.health();
    expect(after.epoch).toBe(res.body.epoch);
    expect(after.pid).toBe(before.pid);
    expect(after.speeds).toEqual(SHARED_SPEEDS);
    expect(await control.faults()).toEqual([]);
    expect((await gantry(endpoint, "GET", "task-rules")).body).toEqual({ rules: [] });
    expect(await listResources(endpoint)).toEqual([]);

    // Moto backends, every service and region.
    expect((await aws.ecs.send(new ListClustersCommand({}))).clusterArns).toEqual([]);
    expect((await eu.send(new ListClustersCommand({}))).clusterArns).toEqual([]);
    expect((await aws.ecr.send(new DescribeRepositoriesCommand({}))).repositories).toEqual([]);
    expect((await aws.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []).toEqual([]);
    expect((await aws.cloudwatch.send(new DescribeAlarmsCommand({}))).MetricAlarms ?? []).toEqual([]);
    expect((await aws.rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).toEqual([]);
    expect((await aws.s3.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);

    // The service's health endpoint is closed.
    await expect(fetch(fx.healthUrl, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();

    // Published images are forgotten: the old digest no longer maps to its tag (R12 fallback).
    const again = await provisionService(endpoint, "reset2", {
      tags: [uid("v9")],
      desiredCount: 1,
      targetGroup: false,
      image: () => oldImage.imageUri,
    });
    expect((await getHealth(again.healthUrl)).body.version).toBe(oldImage.digest);
  });

  it("GIVEN an image published to a sandbox registry WHEN reset THEN its tag is forgotten, the registry keeps it, and publishing again records it again", async () => {
    const [registry] = await control.registries();
    const image = `${registry!.host}/${uid("org")}/api`;
    const tag = uid("v1");
    const [published] = await control.publishRegistryImages(image, [tag]);

    expect((await gantry(endpoint, "POST", "reset")).status).toBe(200);

    expect(await control.registries()).toHaveLength(2);
    const versionOf = async (prefix: string): Promise<string | null> => {
      const fx = await provisionService(endpoint, prefix, {
        tags: [uid("ecr")],
        desiredCount: 1,
        targetGroup: false,
        image: () => published!.imageUri,
      });
      return (await getHealth(fx.healthUrl)).body.version;
    };
    expect(await versionOf("reset-reg")).toBe(published!.digest);
    const [again] = await control.publishRegistryImages(image, [tag]);
    expect(again).toEqual(published);
    expect(await versionOf("reset-reg2")).toBe(tag);
  });

  it("GIVEN a reset WHEN POST /_gantry/reset again THEN yet another epoch", async () => {
    const first = await gantry<{ epoch: string }>(endpoint, "POST", "reset");
    const second = await gantry<{ epoch: string }>(endpoint, "POST", "reset");
    expect(second.status).toBe(200);
    expect(second.body.epoch).not.toBe(first.body.epoch);
    expect((await control.health()).epoch).toBe(second.body.epoch);
  });
});
