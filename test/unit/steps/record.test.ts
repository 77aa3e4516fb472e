import { describe, expect, it } from "vitest";
import { Ledger } from "../../../src/orchestrator/ledger.ts";
import {
  type CommandRecord,
  type DeploymentRecord,
  type DeploymentRecordInput,
  deploymentRecord,
  previousVersion,
} from "../../../src/steps/record.ts";
import { MemoryStore } from "../../fakes/memory-store.ts";

const hook: CommandRecord = {
  name: "preDeploy",
  command: "./check.sh",
  status: "succeeded",
  exitCode: 0,
  timedOut: false,
  durationMs: 5,
  tail: ["ok"],
};

const input: DeploymentRecordInput = {
  id: "d1",
  env: "prod",
  tag: "v2",
  actor: "ana",
  startedAt: "2026-11-20T10:00:00.000Z",
  durationMs: 1234,
  status: "succeeded",
  imageDigest: "sha256:22",
  snapshotId: "snap-1",
  releases: [
    { previousTag: "v1", previousTaskDefinition: "td/web:1" },
    { previousTag: "v1", previousTaskDefinition: "td/api:1" },
  ],
  current: { tag: "v2", taskDefinitionArn: "td/web:2" },
  steps: [
    { name: "preflight", status: "succeeded", startedAt: "2026-11-20T10:00:00.100Z", durationMs: 10 },
    {
      name: "release",
      status: "failed",
      startedAt: "2026-11-20T10:00:00.200Z",
      durationMs: 20,
      detail: "boom",
    },
  ],
};

describe("deploymentRecord", () => {
  it("GIVEN a deploy's facts WHEN built THEN the contract's fields, in order, the first service's versions", () => {
    const record = deploymentRecord({ ...input, hooks: [hook] });

    expect(Object.keys(record)).toEqual([
      "id",
      "env",
      "tag",
      "imageDigest",
      "status",
      "startedAt",
      "durationMs",
      "actor",
      "previous",
      "current",
      "snapshotId",
      "steps",
      "hooks",
    ]);
    expect(record).toEqual({
      id: "d1",
      env: "prod",
      tag: "v2",
      imageDigest: "sha256:22",
      status: "succeeded",
      startedAt: "2026-11-20T10:00:00.000Z",
      durationMs: 1234,
      actor: "ana",
      previous: { tag: "v1", taskDefinitionArn: "td/web:1" },
      current: { tag: "v2", taskDefinitionArn: "td/web:2" },
      snapshotId: "snap-1",
      steps: [
        { name: "preflight", status: "succeeded", startedAt: "2026-11-20T10:00:00.100Z", durationMs: 10 },
        {
          name: "release",
          status: "failed",
          startedAt: "2026-11-20T10:00:00.200Z",
          durationMs: 20,
          detail: "boom",
        },
      ],
      hooks: [hook],
    });
  });

  it("GIVEN a current version with more than the record keeps WHEN built THEN only its tag, task definition and digest", () => {
    const current = {
      tag: "v2",
      taskDefinitionArn: "td/web:2",
      digest: "sha256:22",
      image: "repo@sha256:22",
    };
    expect(deploymentRecord({ ...input, current }).current).toEqual({
      tag: "v2",
      taskDefinitionArn: "td/web:2",
      digest: "sha256:22",
    });
  });

  it("GIVEN a deploy that got nowhere WHEN built THEN empty digest, nulls, and no smoke or hooks keys", () => {
    const record = deploymentRecord({
      ...input,
      status: "failed",
      imageDigest: undefined,
      snapshotId: undefined,
      releases: [],
      current: null,
      steps: [{ name: "preflight", status: "failed", startedAt: "t", durationMs: 1, detail: "" }],
      hooks: [],
    });

    expect(record).toMatchObject({ imageDigest: "", previous: null, current: null, snapshotId: null });
    expect(record.steps).toEqual([{ name: "preflight", status: "failed", startedAt: "t", durationMs: 1 }]);
    expect(record).not.toHaveProperty("smoke");
    expect(record).not.toHaveProperty("hooks");
  });

  it.each([
    { skipSmoke: true, smoke: undefined, expected: { skipped: true, checks: [] } },
    { skipSmoke: true, smoke: { skipped: false, checks: [] }, expected: { skipped: true, checks: [] } },
    { skipSmoke: false, smoke: { skipped: false, checks: [] }, expected: { skipped: false, checks: [] } },
    { skipSmoke: undefined, smoke: undefined, expected: undefined },
  ])(
    "GIVEN skipSmoke $skipSmoke and smoke $smoke WHEN built THEN the record's smoke is $expected",
    ({ skipSmoke, smoke, expected }) => {
      expect(deploymentRecord({ ...input, skipSmoke, smoke }).smoke).toEqual(expected);
    },
  );
});

describe("previousVersion", () => {
  it("GIVEN a release WHEN asked THEN what it replaced; GIVEN none THEN null", () => {
    expect(previousVersion({ previousTag: "v1", previousTaskDefinition: "td/web:1" })).toEqual({
      tag: "v1",
      taskDefinitionArn: "td/web:1",
    });
    expect(previousVersion(undefined)).toBeNull();
  });
});

describe("deployment records in the ledger", () => {
  it("GIVEN an entry an older gantry wrote WHEN the history is listed THEN it reads back unchanged", async () => {
    const store = new MemoryStore();
    // As gantry stored it before the ledger was generic: the key and the JSON, verbatim.
    const older =
      '{"id":"old","env":"prod","tag":"v1","imageDigest":"sha256:11","status":"rolled_back","startedAt":"2026-11-20T10:00:00.000Z","durationMs":9,"actor":"ana","previous":{"tag":"v0","taskDefinitionArn":"td/web:1"},"current":{"tag":"v0","taskDefinitionArn":"td/web:1"},"snapshotId":null,"steps":[{"name":"release","status":"failed","startedAt":"2026-11-20T10:00:01.000Z","durationMs":3,"detail":"x"}],"smoke":{"skipped":true,"checks":[]}}';
    await store.putIfAbsent("ledger/prod/8204831199999-old.json", older);

    const records = await new Ledger<DeploymentRecord>(store).list("prod", 10);

    expect(records).toEqual([JSON.parse(older)]);
    expect(records[0]?.previous?.tag).toBe("v0");
  });

  it("GIVEN a built record WHEN appended and listed THEN the same record comes back", async () => {
    const ledger = new Ledger<DeploymentRecord>(new MemoryStore());
    const record = deploymentRecord(input);
    await ledger.append(record);
    expect(await ledger.list("prod", 1)).toEqual([record]);
  });
});
