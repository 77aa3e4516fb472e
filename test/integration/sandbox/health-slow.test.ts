/**
 * The health endpoint's body fields and its `slow` fault (sandbox/SPEC.md), which the smoke gate's
 * latency ceiling is tested against. Rules covered: R22 (the fields smoke checks read), R22b (the
 * `slow` fault: delayed answers, outside the engine lock, target health unaffected), R13 (the
 * `delaySeconds` field of the fault API).
 */
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { type Fault, SandboxControl } from "../../../src/sandbox/control.ts";
import { gantry, getHealth, provisionService, uid, type ServiceFixture } from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const control = new SandboxControl(endpoint);
let aws: AwsClients;

/** GET the health URL; how long it took and what it answered. */
async function timed(url: string): Promise<{ ms: number; status: number; body: Record<string, unknown> }> {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as Record<string, unknown>;
  return { ms: performance.now() - started, status: res.status, body };
}

beforeAll(() => {
  aws = createAwsClients({ region: "us-east-1", endpoint });
});
afterAll(() => {
  aws.destroy();
});

describe("R22 fields smoke checks read", () => {
  it("GIVEN a serving service THEN its health body has status, version, environment and database", async () => {
    const fx = await provisionService(endpoint, "r22f", {
      tags: [uid("v1")],
      desiredCount: 1,
      targetGroup: false,
    });
    expect(await getHealth(fx.healthUrl)).toEqual({
      status: 200,
      body: {
        status: "healthy",
        version: fx.tags[0],
        environment: "sandbox",
        database: "healthy",
        service: fx.serviceName,
      },
    });
  });
});

describe("R22b slow fault", () => {
  let slow: ServiceFixture;
  let quick: ServiceFixture;

  beforeAll(async () => {
    slow = await provisionService(endpoint, "r22b-slow", { tags: [uid("v1")], desiredCount: 1 });
    quick = await provisionService(endpoint, "r22b-quick", {
      tags: [uid("v1")],
      desiredCount: 1,
      targetGroup: false,
    });
  });
  afterAll(async () => {
    await control.clearFaults(slow.tags[0]!);
  });

  it("GIVEN a slow fault of 1.2 s on the serving tag WHEN GET /health THEN the same answer arrives after the delay, while the AWS API, the control API and other endpoints stay fast", async () => {
    const before = await timed(slow.healthUrl);
    expect(before.ms).toBeLessThan(500);
    await control.addFault({ tag: slow.tags[0]!, kind: "slow", delaySeconds: 1.2 });

    const pending = timed(slow.healthUrl);
    // While that answer is held: other requests are not serialized behind it (R16a lock not held).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const others = performance.now();
    const [other, faults, targets] = await Promise.all([
      timed(quick.healthUrl),
      control.faults(),
      aws.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: slow.targetGroupArn })),
    ]);
    const othersMs = performance.now() - others;
    const held = await pending;

    expect(held.ms).toBeGreaterThanOrEqual(1200);
    expect(held.ms).toBeLessThan(3000);
    expect({ status: held.status, body: held.body }).toEqual({ status: before.status, body: before.body });
    expect(othersMs).toBeLessThan(700);
    expect(other.status).toBe(200);
    expect(faults).toContainEqual({ tag: slow.tags[0], kind: "slow", delaySeconds: 1.2 });
    // R22b: target health is not affected.
    expect(targets.TargetHealthDescriptions?.map((t) => t.TargetHealth?.State)).toEqual(["healthy"]);
  });

  it("GIVEN the slow fault is posted again with another delay THEN the new delay applies; cleared THEN answers are immediate", async () => {
    const tag = slow.tags[0]!;
    await control.addFault({ tag, kind: "slow", delaySeconds: 0.3 });
    expect((await control.faults()).filter((f) => f.tag === tag)).toEqual([
      { tag, kind: "slow", delaySeconds: 0.3 },
    ]);
    const shorter = await timed(slow.healthUrl);
    expect(shorter.ms).toBeGreaterThanOrEqual(300);
    expect(shorter.ms).toBeLessThan(1000);
    await control.clearFaults(tag);
    expect((await timed(slow.healthUrl)).ms).toBeLessThan(250);
  });

  it("GIVEN a slow fault without delaySeconds THEN the delay is 1 s and the listing shows no delaySeconds", async () => {
    const tag = slow.tags[0]!;
    await control.addFault({ tag, kind: "slow" });
    expect((await control.faults()).filter((f) => f.tag === tag)).toEqual([{ tag, kind: "slow" }]);
    const res = await timed(slow.healthUrl);
    expect(res.ms).toBeGreaterThanOrEqual(1000);
    expect(res.ms).toBeLessThan(2500);
    await control.clearFaults(tag);
  });

  it.each<[string, Record<string, unknown>]>([
    ["delaySeconds with another kind", { kind: "health", delaySeconds: 1 }],
    ["delaySeconds 0", { kind: "slow", delaySeconds: 0 }],
    ["delaySeconds over 60", { kind: "slow", delaySeconds: 61 }],
    ["delaySeconds not a number", { kind: "slow", delaySeconds: "1" }],
  ])("GIVEN %s WHEN POSTed THEN 400 with a hint and nothing is added", async (_given, fields) => {
    const tag = uid("f");
    const res = await gantry<{ error: string; hint: string }>(endpoint, "POST", "faults", { tag, ...fields });
    expect(res.status).toBe(400);
    expect(res.body.error.length).toBeGreaterThan(0);
    expect(res.body.hint.length).toBeGreaterThan(0);
    const listed: Fault[] = (await control.faults()).filter((f) => f.tag === tag);
    expect(listed).toEqual([]);
  });
});
