/**
 * RDS snapshots and alarm faults of the sandbox (sandbox/SPEC.md), R = 2 s.
 * Rules covered: R23 (snapshot progress, lookups, tags, delete), R24 (`alarm` fault on a
 * service's current deployment: ALARM state, reason, timestamp, return to OK, alarms never set
 * are never touched), R13 (alarm fault read live).
 */
import {
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
  CloudWatchClient,
  type MetricAlarm,
} from "@aws-sdk/client-cloudwatch";
import {
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  ListTagsForResourceCommand,
  type DBSnapshot,
} from "@aws-sdk/client-rds";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../../src/aws/clients.ts";
import { SandboxControl } from "../../../src/sandbox/control.ts";
import {
  observe,
  possibleValues,
  provision,
  provisionService,
  record,
  release,
  restoreSpeeds,
  uid,
  type Observation,
} from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const control = new SandboxControl(endpoint);
const R = 2_000;
const TOL = 15;
let aws: AwsClients;

beforeAll(async () => {
  aws = createAwsClients({ region: "us-east-1", endpoint });
  await control.setSpeeds({ rolloutSeconds: R / 1000, snapshotSeconds: 1.5, taskSeconds: 1 });
});

afterAll(async () => {
  await restoreSpeeds(endpoint);
  aws.destroy();
});

// ---------------------------------------------------------------------------------------------
describe("R23 snapshots (S = 1.5 s)", () => {
  const S = 1500;
  let db: string;
  beforeAll(async () => {
    db = uid("r23db");
    await provision(endpoint, "dbInstance", db, { instanceClass: "db.t3.micro", allocatedStorage: 20 });
  });

  it("GIVEN CreateDBSnapshot at c THEN creating with PercentProgress floor(100(t−c)/S) ≤ 99 until c+S, then available/100", async () => {
    const id = uid("snap");
    const created = await observe(() =>
      aws.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: db, DBSnapshotIdentifier: id })),
    );
    const view = (s: DBSnapshot | undefined) => ({ status: s?.Status, percent: s?.PercentProgress });
    const model = (elapsed: number) =>
      elapsed < S
        ? { status: "creating", percent: Math.min(99, Math.floor((100 * Math.max(0, elapsed)) / S)) }
        : { status: "available", percent: 100 };
    // c lies inside the CreateDBSnapshot window, so elapsed = t − c spans both windows' uncertainty.
    const elapsedWindow = (obs: { t0: number; t1: number }) => ({
      t0: obs.t0 - created.t1,
      t1: obs.t1 - created.t0,
    });
    expect(possibleValues(elapsedWindow({ t0: created.t1, t1: created.t1 }), model, 0)).toContainEqual(
      view(created.value.DBSnapshot),
    );
    const polls = await record(
      async () =>
        (await aws.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }))).DBSnapshots?.[0],
      created.t0 + 1.25 * S,
    );
    expect(polls.length).toBeGreaterThan(5);
    for (const obs of polls) {
      expect(possibleValues(elapsedWindow(obs), model, TOL)).toContainEqual(view(obs.value));
    }
    const percents = polls.map((p) => p.value?.PercentProgress ?? -1);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(polls.some((p) => p.value?.Status === "creating" && (p.value.PercentProgress ?? 0) > 0)).toBe(
      true,
    );
    expect(view(polls.at(-1)!.value)).toEqual({ status: "available", percent: 100 });
  });

  it("GIVEN a tagged snapshot THEN it is found by id, by instance and as manual, keeps its tags, and DeleteDBSnapshot removes it", async () => {
    const id = uid("snap");
    const tags = [
      { Key: "gantry:release", Value: "v1.2.3" },
      { Key: "purpose", Value: "pre-migration" },
    ];
    const res = await aws.rds.send(
      new CreateDBSnapshotCommand({ DBInstanceIdentifier: db, DBSnapshotIdentifier: id, Tags: tags }),
    );
    const arn = res.DBSnapshot!.DBSnapshotArn!;
    const ids = (list: DBSnapshot[] | undefined) => (list ?? []).map((s) => s.DBSnapshotIdentifier);
    const byId = await aws.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }));
    expect(ids(byId.DBSnapshots)).toEqual([id]);
    expect(byId.DBSnapshots![0]!.DBInstanceIdentifier).toBe(db);
    expect(byId.DBSnapshots![0]!.TagList).toEqual(expect.arrayContaining(tags) as unknown);
    expect(
      ids((await aws.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: db }))).DBSnapshots),
    ).toContain(id);
    expect(
      ids(
        (
          await aws.rds.send(
            new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: db, SnapshotType: "manual" }),
          )
        ).DBSnapshots,
      ),
    ).toContain(id);
    const listed = await aws.rds.send(new ListTagsForResourceCommand({ ResourceName: arn }));
    expect(listed.TagList).toEqual(expect.arrayContaining(tags) as unknown);
    expect(listed.TagList).toHaveLength(2);

    await aws.rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: id }));
    await expect(
      aws.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id })),
    ).rejects.toMatchObject({
      name: "DBSnapshotNotFoundFault",
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe("R24 alarm faults (in order: they share the provisioned alarms)", () => {
  const THRESHOLD = 80;
  const alarmReason = new RegExp(
    `^Threshold Crossed: 1 datapoint \\[${THRESHOLD + 1}(\\.0)?\\] was greater than or equal to the threshold \\(${THRESHOLD}(\\.0)?\\)\\.$`,
  );
  const okReason = "Threshold Crossed: no datapoints were breaching the threshold (sandbox).";
  let named: string;
  let other: string;
  let unmanaged: string;
  let eu: CloudWatchClient;

  const alarm = async (name: string, client: CloudWatchClient = aws.cloudwatch): Promise<MetricAlarm> => {
    const res = await client.send(new DescribeAlarmsCommand({ AlarmNames: [name] }));
    expect(res.MetricAlarms, `alarm ${name}`).toHaveLength(1);
    return res.MetricAlarms![0]!;
  };

  beforeAll(async () => {
    named = uid("r24-named");
    other = uid("r24-other");
    unmanaged = uid("r24-manual");
    const inputs = { metricName: "5xx", namespace: "Gantry/Test", threshold: THRESHOLD };
    await provision(endpoint, "alarm", named, inputs);
    await provision(endpoint, "alarm", other, inputs);
    // Same alarm name in another region: never the service's.
    await provision(endpoint, "alarm", `${named}-eu`, { ...inputs, alarmName: named, region: "eu-west-1" });
    // An alarm the sandbox never set, put into ALARM by hand.
    await aws.cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName: unmanaged,
        MetricName: "5xx",
        Namespace: "Gantry/Test",
        Threshold: THRESHOLD,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        EvaluationPeriods: 1,
        Period: 60,
        Statistic: "Average",
      }),
    );
    await aws.cloudwatch.send(
      new SetAlarmStateCommand({
        AlarmName: unmanaged,
        StateValue: "ALARM",
        StateReason: "set by the test",
      }),
    );
    eu = new CloudWatchClient({
      region: "eu-west-1",
      endpoint,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
  });

  afterAll(() => {
    eu.destroy();
  });

  async function expectUnmanagedUntouched(): Promise<void> {
    const u = await alarm(unmanaged);
    expect([u.StateValue, u.StateReason]).toEqual(["ALARM", "set by the test"]);
  }

  function expectStates(observations: Observation<string | undefined>[], model: (t: number) => string): void {
    expect(observations.length).toBeGreaterThan(3);
    for (const obs of observations) expect(possibleValues(obs, model)).toContain(obs.value);
  }

  it("GIVEN a named alarm fault on v2 WHEN v2's deployment completes THEN that alarm (only) goes ALARM at c+R; WHEN the fault is deleted THEN OK", async () => {
    const fx = await provisionService(endpoint, "r24a", { tags: [uid("v1"), uid("v2")], desiredCount: 1 });
    const v2 = fx.tags[1]!;
    await control.addFault({ tag: v2, kind: "alarm", alarmName: named });
    onTestFinished(() => control.clearFaults(v2));
    expect((await alarm(named)).StateValue).toBe("OK");
    const rel = await release(aws, fx, v2);
    const c = rel.c;
    const polls = await record(async () => (await alarm(named)).StateValue, c + 1.2 * R);
    expectStates(polls, (t) => (t < c + R ? "OK" : "ALARM"));

    const a = await alarm(named);
    expect(a.StateValue).toBe("ALARM");
    expect(a.StateReason).toMatch(alarmReason);
    expect(() => JSON.parse(a.StateReasonData!) as unknown).not.toThrow();
    expect(Math.abs(a.StateUpdatedTimestamp!.getTime() - (c + R))).toBeLessThanOrEqual(TOL);
    // The StateValue filter alone (moto ignores StateValue when AlarmNames is given, see R6).
    const alarmed = await aws.cloudwatch.send(
      new DescribeAlarmsCommand({ StateValue: "ALARM", MaxRecords: 100 }),
    );
    const alarmedNames = alarmed.MetricAlarms?.map((m) => m.AlarmName) ?? [];
    expect(alarmedNames).toContain(named);
    expect(alarmedNames).not.toContain(other);
    expect((await alarm(other)).StateValue).toBe("OK");
    expect((await alarm(named, eu)).StateValue).toBe("OK");
    await expectUnmanagedUntouched();

    const cleared = await observe(() => control.clearFaults(v2));
    const back = await alarm(named);
    expect([back.StateValue, back.StateReason]).toEqual(["OK", okReason]);
    expect(back.StateUpdatedTimestamp!.getTime()).toBeGreaterThanOrEqual(cleared.t0 - TOL);
    await expectUnmanagedUntouched();
  });

  it("GIVEN a COMPLETED service WHEN an alarm fault without alarmName is added on its tag THEN every provisioned alarm goes ALARM at once; WHEN a non-faulty deployment completes THEN back to OK", async () => {
    const fx = await provisionService(endpoint, "r24b", { tags: [uid("v1"), uid("v2")], desiredCount: 1 });
    const v1 = fx.tags[0]!;
    expect((await alarm(named)).StateValue).toBe("OK");
    const added = await observe(() => control.addFault({ tag: v1, kind: "alarm" }));
    onTestFinished(() => control.clearFaults(v1));
    for (const name of [named, other]) {
      const a = await alarm(name);
      expect(a.StateValue, name).toBe("ALARM");
      expect(a.StateReason).toMatch(alarmReason);
      // The fault is newer than the completion: the timestamp is the fault's creation.
      expect(a.StateUpdatedTimestamp!.getTime()).toBeGreaterThanOrEqual(added.t0 - TOL);
      expect(a.StateUpdatedTimestamp!.getTime()).toBeLessThanOrEqual(added.t1 + TOL);
    }
    expect((await alarm(named, eu)).StateValue).toBe("OK");
    await expectUnmanagedUntouched();

    const rel = await release(aws, fx, fx.tags[1]!);
    const c = rel.c;
    const polls = await record(async () => (await alarm(other)).StateValue, c + 1.2 * R);
    expectStates(polls, (t) => (t < c + R ? "ALARM" : "OK"));
    for (const name of [named, other]) {
      const a = await alarm(name);
      expect([a.StateValue, a.StateReason]).toEqual(["OK", okReason]);
    }
    await expectUnmanagedUntouched();
    await control.clearFaults(v1);
  });

  it("GIVEN a named alarm fault on a tag WHEN a service is created with that tag THEN its initial deployment counts: ALARM from the creation", async () => {
    const tag = uid("v0");
    await control.addFault({ tag, kind: "alarm", alarmName: other });
    onTestFinished(() => control.clearFaults(tag));
    const created = await observe(() => provisionService(endpoint, "r24c", { tags: [tag], desiredCount: 1 }));
    const a = await alarm(other);
    expect(a.StateValue).toBe("ALARM");
    expect(a.StateReason).toMatch(alarmReason);
    expect(a.StateUpdatedTimestamp!.getTime()).toBeGreaterThanOrEqual(created.t0 - TOL);
    expect(a.StateUpdatedTimestamp!.getTime()).toBeLessThanOrEqual(created.t1 + TOL);
    expect((await alarm(named)).StateValue).toBe("OK");
    await control.clearFaults(tag);
    expect((await alarm(other)).StateValue).toBe("OK");
  });
});
