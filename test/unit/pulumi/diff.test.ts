/**
 * The reviewer's diff extracted from engine events (src/pulumi/diff.ts `resourceChangeOf`):
 * synthetic events shaped like the ones `pulumi preview` emits (field names from
 * @pulumi/pulumi/automation/events.d.ts; the dynamic-provider case mirrors a real sandbox preview).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation/index.js";
import { describe, expect, it } from "vitest";
import {
  changedPaths,
  parsePropertyPath,
  resourceChangeOf,
  reviewValue,
  SECRET_VALUE,
  UNKNOWN_VALUE,
  valueAt,
} from "../../../src/pulumi/diff.ts";

const SIG = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const PREFIX = "urn:pulumi:dev::platform::";

interface Meta {
  op: string;
  type: string;
  name: string;
  old?: { inputs: Record<string, unknown>; outputs?: Record<string, unknown> };
  new?: { inputs: Record<string, unknown> };
  detailedDiff?: Record<string, { diffKind: string; inputDiff: boolean }>;
  keys?: string[];
  diffs?: string[];
}

/** A resourcePreEvent as the engine reports it. */
function pre(m: Meta): EngineEvent {
  const urn = `${PREFIX}${m.type}::${m.name}`;
  const state = (s: { inputs: Record<string, unknown>; outputs?: Record<string, unknown> } | undefined) =>
    s && {
      type: m.type,
      urn,
      id: "id-1",
      parent: "",
      provider: "",
      inputs: s.inputs,
      outputs: s.outputs ?? {},
    };
  return {
    sequence: 1,
    timestamp: 0,
    resourcePreEvent: {
      metadata: {
        op: m.op,
        urn,
        type: m.type,
        provider: "",
        old: state(m.old),
        new: state(m.new),
        ...(m.detailedDiff ? { detailedDiff: m.detailedDiff } : {}),
        ...(m.keys ? { keys: m.keys } : {}),
        ...(m.diffs ? { diffs: m.diffs } : {}),
      },
    },
  } as unknown as EngineEvent;
}

describe("resourceChangeOf", () => {
  it("GIVEN a dynamic resource update (no detailed diff) WHEN extracted THEN each changed leaf has its old and new value", () => {
    const inputs = (count: number) => ({
      __provider: "exports.handler = __f0; /* serialized provider */",
      kind: "service",
      props: { desiredCount: count, serviceName: "api", subnets: ["a", "b"] },
    });
    const change = resourceChangeOf(
      pre({
        op: "update",
        type: "pulumi-nodejs:dynamic/sandbox:service",
        name: "gantry-dev-api",
        old: { inputs: inputs(2) },
        new: { inputs: { ...inputs(3), props: { ...inputs(3).props, subnets: ["a", "c"] } } },
      }),
    );
    expect(change).toMatchObject({
      op: "update",
      name: "gantry-dev-api",
      diffs: ["props"],
      replaceReasons: [],
    });
    expect(change?.properties).toEqual([
      { path: "props.desiredCount", kind: "update", old: 2, new: 3 },
      { path: "props.subnets", kind: "update", old: ["a", "b"], new: ["a", "c"] },
    ]);
  });

  it("GIVEN a provider's detailed diff WHEN extracted THEN its kinds and paths are kept, old values from inputs or outputs as it says", () => {
    const change = resourceChangeOf(
      pre({
        op: "update",
        type: "aws:ec2/securityGroup:SecurityGroup",
        name: "web-sg",
        old: {
          inputs: { tags: { Name: "old", "team.io/owner": "a" }, ingress: [{ cidrBlocks: ["10.0.0.0/8"] }] },
          outputs: { description: "managed by pulumi", tags: { Name: "old" } },
        },
        new: {
          inputs: {
            tags: { Name: "new", "team.io/owner": "b" },
            ingress: [{ cidrBlocks: ["10.1.0.0/16"] }],
            egress: [],
          },
        },
        detailedDiff: {
          "tags.Name": { diffKind: "update", inputDiff: true },
          'tags["team.io/owner"]': { diffKind: "update", inputDiff: true },
          "ingress[0].cidrBlocks": { diffKind: "update", inputDiff: true },
          egress: { diffKind: "add", inputDiff: true },
          description: { diffKind: "delete", inputDiff: false },
        },
      }),
    );
    expect(change?.properties).toEqual([
      { path: "description", kind: "delete", old: "managed by pulumi" },
      { path: "egress", kind: "add", new: [] },
      { path: "ingress[0].cidrBlocks", kind: "update", old: ["10.0.0.0/8"], new: ["10.1.0.0/16"] },
      { path: "tags.Name", kind: "update", old: "old", new: "new" },
      { path: 'tags["team.io/owner"]', kind: "update", old: "a", new: "b" },
    ]);
  });

  it("GIVEN a replacement WHEN its three events are extracted THEN one replace change with the reasons and -replace kinds", () => {
    const meta = {
      type: "pulumi-nodejs:dynamic/sandbox:targetGroup",
      name: "tg",
      old: { inputs: { name: "tg-a", props: { port: 80 } } },
      new: { inputs: { name: "tg-b", props: { port: 80 } } },
      keys: ["name"],
    };
    const changes = ["create-replacement", "replace", "delete-replaced"].map((op) =>
      resourceChangeOf(pre({ ...meta, op })),
    );
    expect(changes[0]).toBeUndefined();
    expect(changes[2]).toBeUndefined();
    expect(changes[1]).toMatchObject({
      op: "replace",
      replaceReasons: ["name"],
      properties: [{ path: "name", kind: "update-replace", old: "tg-a", new: "tg-b" }],
    });
  });

  it("GIVEN secret values (signature-wrapped, even with plaintext inside, or [secret]) WHEN extracted THEN only [secret] appears", () => {
    const change = resourceChangeOf(
      pre({
        op: "update",
        type: "aws:rds/instance:Instance",
        name: "db",
        old: { inputs: { password: { [SIG]: SIG_SECRET, value: "hunter2-old" }, port: 5432 } },
        new: { inputs: { password: { [SIG]: SIG_SECRET, value: "[secret]" }, port: 5433 } },
        detailedDiff: {
          password: { diffKind: "update", inputDiff: true },
          port: { diffKind: "update", inputDiff: true },
        },
      }),
    );
    expect(change?.properties).toEqual([
      { path: "password", kind: "update", old: SECRET_VALUE, new: SECRET_VALUE },
      { path: "port", kind: "update", old: 5432, new: 5433 },
    ]);
    expect(JSON.stringify(change)).not.toContain("hunter2");
  });

  it("GIVEN a create with unknown outputs of other resources WHEN extracted THEN every input leaf is an add, unknowns as known-after-apply", () => {
    const change = resourceChangeOf(
      pre({
        op: "create",
        type: "pulumi-nodejs:dynamic/sandbox:service",
        name: "svc",
        new: { inputs: { kind: "service", props: { targetGroupArn: UNKNOWN, desiredCount: 1 } } },
      }),
    );
    expect(change?.properties).toEqual([
      { path: "kind", kind: "add", new: "service" },
      { path: "props.desiredCount", kind: "add", new: 1 },
      { path: "props.targetGroupArn", kind: "add", new: UNKNOWN_VALUE },
    ]);
  });

  it("GIVEN a delete WHEN extracted THEN the resource's last outputs are listed as deleted", () => {
    const change = resourceChangeOf(
      pre({
        op: "delete",
        type: "pulumi-nodejs:dynamic/sandbox:alarm",
        name: "old-alarm",
        old: { inputs: { kind: "alarm" }, outputs: { kind: "alarm", result: { alarmName: "old-alarm" } } },
      }),
    );
    expect(change?.properties).toEqual([
      { path: "kind", kind: "delete", old: "alarm" },
      { path: "result.alarmName", kind: "delete", old: "old-alarm" },
    ]);
  });

  it("GIVEN a changed secret a dynamic provider cannot show WHEN extracted THEN the engine's diff keys are still named", () => {
    const secret = { [SIG]: SIG_SECRET, value: "[secret]" };
    const change = resourceChangeOf(
      pre({
        op: "update",
        type: "t:x:Y",
        name: "y",
        old: { inputs: { token: secret } },
        new: { inputs: { token: secret } },
        diffs: ["token"],
      }),
    );
    expect(change?.properties).toEqual([{ path: "token", kind: "update" }]);
  });

  it.each([
    ["the stack", "pulumi:pulumi:Stack", "update"],
    ["a provider", "pulumi:providers:aws", "update"],
  ])("GIVEN an event for %s WHEN extracted THEN it is not a reviewer's resource", (_what, type, op) => {
    expect(resourceChangeOf(pre({ op, type, name: "x", old: { inputs: {} }, new: { inputs: {} } }))).toBe(
      undefined,
    );
  });

  it("GIVEN a same WHEN extracted THEN no properties", () => {
    const same = resourceChangeOf(
      pre({ op: "same", type: "t:x:Y", name: "y", old: { inputs: { a: 1 } }, new: { inputs: { a: 1 } } }),
    );
    expect(same).toMatchObject({ op: "same", properties: [], diffs: [] });
  });
});

describe("reviewValue", () => {
  it("GIVEN a dynamic resource's serialized provider code WHEN made safe THEN it is left out (plumbing, not a property)", () => {
    expect(reviewValue({ __provider: "exports.handler = __f0;", kind: "alarm" })).toEqual({ kind: "alarm" });
  });

  it("GIVEN a string Pulumi filtered a secret out of WHEN made safe THEN the whole string is [secret]", () => {
    expect(reviewValue("postgres://app:[secret]@db:5432/app")).toBe(SECRET_VALUE);
  });
});

describe("property paths", () => {
  it.each([
    ["a.b[0].c", ["a", "b", 0, "c"]],
    ['tags["team.io/owner"]', ["tags", "team.io/owner"]],
    ['m["a\\"b"].x', ["m", 'a"b', "x"]],
    ["aws:region", ["aws:region"]],
  ])("GIVEN %s WHEN parsed THEN %j", (path, parts) => {
    expect(parsePropertyPath(path)).toEqual(parts);
  });

  it("GIVEN a nested value WHEN read at a path THEN that leaf, or undefined past the end", () => {
    const v = { a: { b: [{ c: 1 }] }, "x.y": 2 };
    expect(valueAt(v, "a.b[0].c")).toBe(1);
    expect(valueAt(v, '["x.y"]')).toBe(2);
    expect(valueAt(v, "a.b[3].c")).toBeUndefined();
    expect(valueAt(v, "(root)")).toBe(v);
  });
});

describe("changedPaths", () => {
  it.each([
    [{ a: 1 }, { a: 1 }, []],
    [{ a: 1 }, { a: 2 }, ["a"]],
    [{ props: { n: 1, s: "x" } }, { props: { n: 3, s: "x" } }, ["props.n"]],
    [{ a: [1, 2] }, { a: [1, 3] }, ["a"]],
    [{ a: 1 }, { b: 1 }, ["a", "b"]],
    [undefined, { a: 1 }, ["(root)"]],
  ])("GIVEN %j and %j WHEN compared THEN %j", (a, b, expected) => {
    expect(changedPaths(a, b)).toEqual(expected);
  });
});
