import { describe, expect, it } from "vitest";
import type { DeploymentState } from "../../../src/aws/ports.ts";
import { mustRead, REFRESH_EVERY_LOOKS, taskSetKey } from "../../../src/checks/cadence.ts";

const dep = (over: Partial<DeploymentState> = {}): DeploymentState => ({
  id: "ecs-svc/2",
  status: "PRIMARY",
  rolloutState: "IN_PROGRESS",
  rolloutStateReason: "",
  taskDefinition: "td:2",
  desiredCount: 2,
  runningCount: 1,
  pendingCount: 1,
  failedTasks: 0,
  createdAt: new Date("2026-11-22T10:00:00Z"),
  updatedAt: new Date("2026-11-22T10:00:05Z"),
  ...over,
});

describe("taskSetKey", () => {
  it("GIVEN the same deployment seen twice, its rollout state and reason changed WHEN keyed THEN the same key (its tasks did not change)", () => {
    expect(taskSetKey(dep({ rolloutState: "COMPLETED", rolloutStateReason: "done" }))).toBe(
      taskSetKey(dep()),
    );
  });

  it.each([
    ["a task started running", { runningCount: 2, pendingCount: 0 }],
    ["a task was placed", { pendingCount: 2 }],
    ["a task failed", { failedTasks: 1 }],
    ["ECS updated the deployment", { updatedAt: new Date("2026-11-22T10:00:09Z") }],
  ])("GIVEN %s WHEN keyed THEN the key changes", (_, change: Partial<DeploymentState>) => {
    expect(taskSetKey(dep(change))).not.toBe(taskSetKey(dep()));
  });

  it("GIVEN no deployment WHEN keyed THEN a key no deployment has", () => {
    expect(taskSetKey(undefined)).toBe("");
    expect(taskSetKey(dep({ updatedAt: undefined }))).not.toBe("");
  });
});

describe("mustRead", () => {
  const passed = { verdict: { state: "pass", detail: "2/2 new targets healthy" }, look: 4 } as const;

  it("GIVEN a passing reading WHEN fewer looks than the refresh interval went by THEN it is kept", () => {
    for (let look = 4; look < 4 + REFRESH_EVERY_LOOKS; look++)
      expect(mustRead(passed, look, false)).toBe(false);
  });

  it("GIVEN a passing reading WHEN the refresh interval went by THEN it is read again", () => {
    expect(mustRead(passed, 4 + REFRESH_EVERY_LOOKS, false)).toBe(true);
  });

  it("GIVEN a gate never read WHEN looked at THEN it is due on the look the refresh interval ends, or when forced", () => {
    for (let look = 1; look < REFRESH_EVERY_LOOKS; look++)
      expect(mustRead(undefined, look, false)).toBe(false);
    expect(mustRead(undefined, REFRESH_EVERY_LOOKS, false)).toBe(true);
    expect(mustRead(undefined, 1, true)).toBe(true);
  });

  it.each([
    ["forced (inputs changed, or a deciding look)", passed, true],
    ["waiting", { verdict: { state: "wait", detail: "1/2 new targets healthy" }, look: 4 }, false],
    [
      "failing (a rollback waits for it to clear)",
      { verdict: { state: "fail", code: "ALARM", detail: "x in ALARM" }, look: 4 },
      false,
    ],
  ] as const)("GIVEN a reading %s WHEN the next look comes THEN it is read", (_, last, force) => {
    expect(mustRead(last, 5, force)).toBe(true);
  });
});
