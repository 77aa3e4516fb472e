import { describe, expect, it } from "vitest";
import type { DeploymentState, ServiceState } from "../../../src/aws/ports.ts";
import {
  combine,
  evaluateAlarms,
  evaluateHealth,
  evaluateRollout,
  evaluateTargets,
} from "../../../src/checks/gates.ts";

const dep = (over: Partial<DeploymentState>): DeploymentState => ({
  id: "ecs-svc/2",
  status: "PRIMARY",
  rolloutState: "IN_PROGRESS",
  rolloutStateReason: "",
  taskDefinition: "td:2",
  desiredCount: 2,
  runningCount: 1,
  pendingCount: 1,
  failedTasks: 0,
  createdAt: undefined,
  ...over,
});
const svc = (...deployments: DeploymentState[]): ServiceState => ({
  serviceName: "api",
  status: "ACTIVE",
  taskDefinition: deployments[0]?.taskDefinition ?? "td:1",
  desiredCount: 2,
  deployments,
});

describe("evaluateRollout", () => {
  it.each([
    ["IN_PROGRESS", svc(dep({})), "wait", /rollout IN_PROGRESS \(1\/2 running, 1 pending, 0 failed\)/],
    [
      "COMPLETED",
      svc(dep({ rolloutState: "COMPLETED", runningCount: 2, pendingCount: 0 })),
      "pass",
      /COMPLETED/,
    ],
    [
      "FAILED",
      svc(
        dep({
          rolloutState: "FAILED",
          rolloutStateReason: "ECS deployment circuit breaker: tasks failed to start.",
        }),
      ),
      "fail",
      /circuit breaker/,
    ],
    [
      "ours gone",
      svc(dep({ id: "ecs-svc/1", taskDefinition: "td:1" })),
      "fail",
      /no longer listed: ECS rolled it back \(service runs td:1\)/,
    ],
    ["ours ACTIVE", svc(dep({ id: "ecs-svc/3" }), dep({ status: "ACTIVE" })), "fail", /no longer PRIMARY/],
  ])("GIVEN %s WHEN evaluated THEN %s", (_what, service, state, detail) => {
    const v = evaluateRollout(service, "ecs-svc/2");
    expect(v.state).toBe(state);
    expect(v.detail).toMatch(detail);
  });

  it("GIVEN no service WHEN evaluated THEN SERVICE_GONE", () => {
    expect(evaluateRollout(undefined, "x")).toMatchObject({ state: "fail", code: "SERVICE_GONE" });
  });
});

describe("evaluateTargets", () => {
  const t = (id: string, state: string) => ({
    id,
    port: 8080,
    state,
    reason: undefined,
    description: `${state} d`,
  });
  it("GIVEN only old targets healthy WHEN the new ones are initial THEN wait", () => {
    expect(
      evaluateTargets([t("10.0.0.1", "healthy"), t("10.0.0.9", "initial")], ["10.0.0.9"], 1),
    ).toMatchObject({
      state: "wait",
      detail: "0/1 new targets healthy",
    });
  });
  it("GIVEN all new targets healthy WHEN evaluated THEN pass", () => {
    expect(
      evaluateTargets([t("a", "healthy"), t("b", "healthy"), t("old", "draining")], ["a", "b"], 2).state,
    ).toBe("pass");
  });
  it("GIVEN a new target unhealthy WHEN evaluated THEN fail with its description", () => {
    expect(evaluateTargets([t("a", "healthy"), t("b", "unhealthy")], ["a", "b"], 2)).toMatchObject({
      state: "fail",
      code: "TARGETS_UNHEALTHY",
      detail: "1 of 2 new targets unhealthy: unhealthy d",
    });
  });
});

describe("evaluateHealth", () => {
  const res = (status: number | undefined, body: unknown, error?: string) => ({
    url: "http://h/health",
    status,
    body,
    error,
    latencyMs: 3,
  });
  it.each([
    [res(200, { version: "v2" }), "pass", "http://h/health 200, version=v2"],
    [res(500, { status: "unhealthy" }), "fail", "http://h/health answered HTTP 500"],
    [res(200, { version: "v1" }), "fail", 'http://h/health serves version="v1", expected "v2"'],
    [res(200, "OK"), "fail", 'http://h/health serves version=nothing, expected "v2"'],
    [res(undefined, undefined, "ECONNREFUSED"), "fail", "http://h/health did not answer: ECONNREFUSED"],
  ])("GIVEN %j WHEN evaluated against v2 THEN %s", (r, state, detail) => {
    expect(evaluateHealth(r, "v2", "version")).toMatchObject({ state, detail });
  });
  it("GIVEN a nested version field WHEN evaluated THEN the dotted path is read", () => {
    expect(evaluateHealth(res(200, { build: { tag: "v2" } }), "v2", "build.tag").state).toBe("pass");
  });
});

describe("evaluateAlarms and combine", () => {
  const a = (name: string, state: string) => ({ name, state, reason: "Threshold Crossed" });
  it("GIVEN an alarm that fired during the deploy WHEN evaluated THEN fail naming it", () => {
    expect(evaluateAlarms([a("5xx", "ALARM"), a("cpu", "OK")], new Set())).toMatchObject({
      state: "fail",
      code: "ALARM",
      detail: "5xx in ALARM (Threshold Crossed)",
    });
  });
  it("GIVEN an alarm already in ALARM before the deploy WHEN evaluated THEN it does not fail the gate", () => {
    expect(evaluateAlarms([a("5xx", "ALARM")], new Set(["5xx"])).state).toBe("pass");
  });
  it("GIVEN pass, wait and fail WHEN combined THEN fail wins; wait beats pass", () => {
    expect(
      combine([
        { state: "pass", detail: "p" },
        { state: "wait", detail: "w" },
      ]).state,
    ).toBe("wait");
    expect(
      combine([
        { state: "wait", detail: "w" },
        { state: "fail", code: "ALARM", detail: "f" },
      ]),
    ).toMatchObject({ state: "fail", detail: "f" });
    expect(
      combine([
        { state: "pass", detail: "a" },
        { state: "pass", detail: "b" },
      ]),
    ).toEqual({ state: "pass", detail: "a; b" });
  });
});
