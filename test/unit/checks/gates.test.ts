import { describe, expect, it } from "vitest";
import type { DeploymentState, ServiceState } from "../../../src/aws/ports.ts";
import {
  combine,
  evaluateAlarms,
  evaluateHealth,
  evaluateRollout,
  evaluateTargets,
  explainFailedRollout,
  FAILED_ROLLOUT_LIMITS,
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
  updatedAt: undefined,
  ...over,
});
const svc = (...deployments: DeploymentState[]): ServiceState => ({
  serviceName: "api",
  status: "ACTIVE",
  taskDefinition: deployments[0]?.taskDefinition ?? "td:1",
  desiredCount: 2,
  deployments,
  events: [],
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

describe("explainFailedRollout", () => {
  const at = (minute: number): Date => new Date(Date.UTC(2026, 10, 22, 10, minute));
  const REASON = "ECS deployment circuit breaker: tasks failed to start.";

  it("GIVEN stopped tasks and service events WHEN explained THEN one line: the reason, the distinct stop reasons and the last two events since the deployment, oldest first", () => {
    const line = explainFailedRollout(
      REASON,
      [
        "Essential container in task exited (exit code 1)",
        "Essential container in task exited (exit code 1)",
      ],
      [
        { createdAt: at(9), message: "(service api) rolling back to deployment ecs-svc/1." },
        {
          createdAt: at(8),
          message: "(service api) (deployment ecs-svc/2) deployment failed: tasks failed to start.",
        },
        { createdAt: at(7), message: "(service api) has started 2 tasks: (task a) (task b)." },
        { createdAt: at(1), message: "(service api) has reached a steady state." },
      ],
      at(5),
    );

    expect(line).toBe(
      `${REASON} — stopped tasks: Essential container in task exited (exit code 1) — last events: ` +
        "(service api) (deployment ecs-svc/2) deployment failed: tasks failed to start. | (service api) rolling back to deployment ecs-svc/1.",
    );
  });

  it("GIVEN only events from before the deployment and no stopped task WHEN explained THEN the reason alone", () => {
    expect(
      explainFailedRollout(
        REASON,
        [],
        [{ createdAt: at(1), message: "(service api) has reached a steady state." }],
        at(5),
      ),
    ).toBe(REASON);
  });

  it("GIVEN many long, multi-line stop reasons and events WHEN explained THEN at most 3 reasons and 2 events, each cut, on one bounded line", () => {
    const long = (n: number): string => `reason ${String(n)}\n${"x".repeat(300)}`;
    const line = explainFailedRollout(
      `${REASON}\n${"y".repeat(400)}`,
      [1, 2, 3, 4, 5].map(long),
      [1, 2, 3].map((n) => ({ createdAt: undefined, message: `event ${String(n)} ${"z".repeat(300)}` })),
    );

    expect(line).not.toMatch(/\n/);
    expect(line.length).toBeLessThanOrEqual(FAILED_ROLLOUT_LIMITS.total);
    expect(line).toMatch(
      /^ECS deployment circuit breaker: tasks failed to start\. y+… — stopped tasks: reason 1 x+… \| reason 2 x+… \| reason 3 x+… \(\+2 more\) — last events: event 2 z+… \| event 1 z/,
    );
    expect(line).not.toMatch(/reason 4|event 3/);
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
