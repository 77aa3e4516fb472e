/**
 * The S3 adapter of the orchestrator's ObjectStore against the sandbox's S3 (moto, real HTTP, real
 * SDK): conditional writes, listing order, error classification, and the deploy lock racing over
 * real S3.
 */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { S3Store } from "../../src/aws/store.ts";
import { AwsError } from "../../src/errors.ts";
import { DeployLock } from "../../src/orchestrator/lock.ts";

const endpoint = workerSandbox().endpoint;
const bucket = `gantry-state-${Math.random().toString(36).slice(2, 8)}`;

describe("S3Store on the sandbox", () => {
  let aws: AwsClients;
  let store: S3Store;

  beforeAll(async () => {
    aws = createAwsClients({ region: "us-east-1", endpoint });
    await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    store = new S3Store(aws.s3, bucket, "gantry");
  });
  afterAll(() => {
    aws.destroy();
  });

  it("GIVEN no object WHEN read THEN undefined", async () => {
    expect(await store.get("nothing.json")).toBeUndefined();
  });

  it("GIVEN an object WHEN created twice THEN the second create says it exists and the body is unchanged", async () => {
    const first = await store.putIfAbsent("a.json", '{"n":1}');
    expect(first).not.toBe("exists");
    expect(await store.putIfAbsent("a.json", '{"n":2}')).toBe("exists");
    expect((await store.get("a.json"))?.body).toBe('{"n":1}');
  });

  it("GIVEN a read version WHEN someone else wrote since THEN replace and delete with the old version fail", async () => {
    const created = await store.putIfAbsent("b.json", "1");
    if (created === "exists") throw new Error("unexpected");
    const second = await store.putIfMatch("b.json", "2", created.etag);
    expect(second).not.toBe("changed");
    expect(await store.putIfMatch("b.json", "3", created.etag)).toBe("changed");
    expect(await store.deleteIfMatch("b.json", created.etag)).toBe(false);
    if (second === "changed") throw new Error("unexpected");
    expect(await store.deleteIfMatch("b.json", second.etag)).toBe(true);
    expect(await store.get("b.json")).toBeUndefined();
  });

  it("GIVEN keys under a prefix WHEN listed THEN ascending, limited, relative to the store's prefix", async () => {
    for (const k of ["l/3", "l/1", "l/2", "m/1"]) await store.putIfAbsent(k, "x");
    expect(await store.list("l/", 2)).toEqual(["l/1", "l/2"]);
  });

  it("GIVEN a bucket that does not exist WHEN used THEN AWS_STATE_BUCKET_MISSING with the bootstrap hint", async () => {
    const missing = new S3Store(aws.s3, "no-such-bucket-gantry", "gantry");
    const err = await missing.putIfAbsent("x", "y").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AwsError);
    expect((err as AwsError).code).toBe("AWS_STATE_BUCKET_MISSING");
    expect((err as AwsError).hint).toContain("bootstrap");
  });

  it("GIVEN an unreachable endpoint WHEN used THEN AWS_UNREACHABLE, not an SDK stack trace", async () => {
    const dead = createAwsClients({ region: "us-east-1", endpoint: "http://127.0.0.1:1" });
    try {
      const err = await new S3Store(dead.s3, bucket, "gantry").get("a.json").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AwsError);
      expect((err as AwsError).code).toBe("AWS_UNREACHABLE");
    } finally {
      dead.destroy();
    }
  });

  it("GIVEN six deploys racing for one env over real S3 WHEN they acquire THEN exactly one gets the lock", async () => {
    const clock = { now: () => Date.now(), host: "it-host", isAlive: () => true };
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((pid) =>
        new DeployLock(store, "race", clock).acquire({
          deploymentId: `d${String(pid)}`,
          env: "race",
          actor: "it",
          host: "it-host",
          pid,
          startedAt: new Date().toISOString(),
        }),
      ),
    );
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const holder = await new DeployLock(store, "race", clock).holder();
    expect(winners[0]?.acquired && winners[0].lock.holder.deploymentId).toBe(holder?.holder.deploymentId);
  });
});
