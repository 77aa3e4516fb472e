/** Results as a person reads them: the deploy summary, the status and history tables, YAML for the rest. */
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../../src/reporting/events.ts";
import {
  formatDuration,
  renderHistory,
  renderResult,
  renderRun,
  renderStatus,
  renderStatusAll,
  shortDigest,
  table,
} from "../../../src/reporting/human.ts";

const DIGEST = `sha256:${"ab12".repeat(16)}`;

function record(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: "20261207T000000Z-abc123",
    env: "staging",
    tag: "v1.2.0",
    imageDigest: DIGEST,
    status: "succeeded",
    startedAt: "2026-12-07T00:00:00.123Z",
    durationMs: 83_400,
    actor: "ada",
    previous: { tag: "v1.1.0", taskDefinitionArn: "arn:td:4" },
    current: { tag: "v1.2.0", taskDefinitionArn: "arn:td:5" },
    snapshotId: null,
    steps: [
      { name: "preflight", status: "succeeded", durationMs: 400 },
      { name: "release", status: "succeeded", durationMs: 1200 },
      { name: "gates", status: "succeeded", durationMs: 61_000 },
    ],
    ...overrides,
  };
}

describe("human rendering of results", () => {
  it("GIVEN a succeeded deploy WHEN rendered THEN one headline, the version change, the step times, no next step", () => {
    const text = renderRun({ kind: "run", run: "deploy", exitCode: 0, record: record() });
    expect(text.split("\n")[0]).toBe(
      "deploy v1.2.0 to staging: succeeded in 1 min 23 s — deployed and verified healthy",
    );
    expect(text).toContain("  version  v1.1.0 → v1.2.0 (sha256:ab12ab12ab12); now runs v1.2.0\n");
    expect(text).toContain("  steps    preflight 0.4 s · release 1.2 s · gates 1 min 01 s\n");
    expect(text).toContain("  id       20261207T000000Z-abc123 by ada\n");
    expect(text).not.toContain("next");
    expect(text).not.toContain("{");
  });

  it("GIVEN a rolled-back deploy WHEN rendered THEN it says what runs now, why, and the next command", () => {
    const text = renderRun({
      kind: "run",
      run: "deploy",
      exitCode: 3,
      record: record({
        status: "rolled_back",
        current: { tag: "v1.1.0", taskDefinitionArn: "arn:td:4" },
        steps: [
          { name: "release", status: "undone", durationMs: 900 },
          { name: "gates", status: "failed", durationMs: 5000, detail: "api answered HTTP 500" },
        ],
      }),
      error: { message: "gates failed: api answered HTTP 500", hint: "gantry history --env staging" },
    });
    expect(text).toMatch(/^deploy v1\.2\.0 to staging: rolled_back in 1 min 23 s — failed; rolled back/);
    expect(text).toContain("; back on v1.1.0\n");
    expect(text).toContain("release undone 0.9 s · gates failed 5.0 s");
    expect(text).toContain("  why      gates failed: api answered HTTP 500\n");
    expect(text).toContain("  next     gantry history --env staging\n");
  });

  it("GIVEN a failure without an error WHEN rendered THEN the failed step's detail is the reason", () => {
    const text = renderRun({
      kind: "run",
      run: "rollback",
      exitCode: 1,
      record: record({
        status: "failed",
        previous: null,
        current: null,
        steps: [{ name: "preflight", status: "failed", durationMs: 10, detail: "image moved" }],
      }),
    });
    expect(text).toMatch(
      /^rollback v1\.2\.0 to staging: failed in .+ — failed before any change; nothing changed$/m,
    );
    expect(text).toContain(
      "  version  v1.2.0 (sha256:ab12ab12ab12) not released; the environment is unchanged\n",
    );
    expect(text).toContain("  why      image moved\n");
    expect(text).toContain("  next     gantry status --env staging; gantry history --env staging\n");
  });

  it.each([
    [5, "refused: another deploy holds the environment's lock; nothing changed", "not released"],
    [4, "failed and the rollback did NOT verify — a human is needed", "ECS reports v1.2.0, not verified"],
    [130, "interrupted; cancelled cleanly", "back on v1.1.0"],
  ])(
    "GIVEN exit %d WHEN rendered THEN the headline says %j and the version line %j",
    (exitCode, headline, version) => {
      const released = exitCode !== 5;
      const text = renderRun({
        kind: "run",
        run: "deploy",
        exitCode,
        record: record({
          status: exitCode === 130 ? "aborted" : "failed",
          previous: released ? { tag: "v1.1.0", taskDefinitionArn: "arn:td:4" } : null,
          current:
            exitCode === 4
              ? { tag: "v1.2.0", taskDefinitionArn: "arn:td:5" }
              : released
                ? { tag: "v1.1.0", taskDefinitionArn: "arn:td:4" }
                : null,
        }),
      });
      expect(text.split("\n")[0]).toContain(` — ${headline}`);
      expect(text.split("\n")[1]).toContain(version);
      expect(text).toContain("  next     ");
    },
  );

  it("GIVEN rows of different widths WHEN tabled THEN every column starts at the same place", () => {
    const text = table(
      ["A", "LONGER", "C"],
      [
        ["xxxxx", "y", "z"],
        ["x", "yyyyyyyy", "zz"],
      ],
    );
    const lines = text.trimEnd().split("\n");
    expect(lines).toEqual(["A      LONGER    C", "xxxxx  y         z", "x      yyyyyyyy  zz"]);
  });

  it("GIVEN two records WHEN history is rendered THEN a header and one aligned row each, newest first", () => {
    const text = renderHistory([
      record(),
      record({ tag: "v1.1.0", status: "rolled_back", durationMs: 4200 }),
    ]);
    const [header, first, second] = text.trimEnd().split("\n");
    expect(header).toMatch(/^STARTED +TAG +STATUS +DURATION +ACTOR +DIGEST +SERVICES +SOURCE +ID$/);
    expect(first).toMatch(
      /^2026-12-07T00:00:00Z +v1\.2\.0 +succeeded +1 min 23 s +ada +sha256:ab12ab12ab12 +- +- +20261207T/,
    );
    expect(second?.indexOf("rolled_back")).toBe(header?.indexOf("STATUS"));
    expect(renderHistory([])).toBe("no deployments yet\n");
  });

  it("GIVEN a record with services and a source WHEN history is rendered THEN the released services (with a tag of their own) and the source", () => {
    const service = (name: string, tag: string | null, outcome: string) => ({
      name,
      image: name,
      tag,
      digest: tag === null ? null : DIGEST,
      previous: null,
      current: null,
      outcome,
    });
    const text = renderHistory([
      record({
        services: [
          service("api", "v1.2.0", "released"),
          service("web", "v1.2.1", "released"),
          service("mcp", null, "unchanged"),
        ],
        trigger: "push",
        commit: "0123456789abcdef",
        pr: 42,
        reason: "hotfix",
      }),
    ]);
    expect(text.split("\n")[1]).toMatch(/ api web=v1\.2\.1 +push 0123456 PR #42 "hotfix" +20261207T/);
  });

  it("GIVEN a deploy of two services where one was rolled back WHEN its summary is rendered THEN one line per service says what each runs", () => {
    const text = renderRun({
      kind: "run",
      run: "deploy",
      exitCode: 3,
      record: record({
        status: "rolled_back",
        services: [
          {
            name: "api",
            image: "api",
            tag: "v1.2.0",
            digest: DIGEST,
            previous: { tag: "v1.1.0", taskDefinitionArn: "arn:td:4" },
            current: { tag: "v1.1.0", taskDefinitionArn: "arn:td:4", digest: "sha256:0000000000001111" },
            outcome: "rolled_back",
          },
          {
            name: "web",
            image: "ghcr.io/acme/web",
            tag: null,
            digest: null,
            previous: { tag: "v1.0.0", taskDefinitionArn: "arn:td:7" },
            current: { tag: "v1.0.0", taskDefinitionArn: "arn:td:7" },
            outcome: "unchanged",
          },
        ],
      }),
    });
    const lines = text.split("\n");
    expect(lines).toContain(
      "  services api  v1.1.0 → v1.2.0 (sha256:ab12ab12ab12); rolled back; runs v1.1.0 (sha256:000000000000)",
    );
    expect(lines).toContain("           web  unchanged; runs v1.0.0 (-)");
    expect(text).not.toContain("  version ");
  });

  it("GIVEN a status WHEN rendered THEN one row per service, the last deploy and the lock", () => {
    const text = renderStatus({
      env: "prod",
      stack: "up",
      services: [
        {
          service: "api",
          tag: "v3",
          image: `123.dkr.ecr.us-east-1.amazonaws.com/app@${DIGEST}`,
          taskDefinition: "arn:td:9",
          deployments: ["PRIMARY COMPLETED ecs-svc/1"],
          health: "HTTP 200",
        },
        {
          service: "web",
          tag: null,
          image: null,
          taskDefinition: null,
          deployments: [],
          health: "unreachable (ECONNREFUSED)",
        },
      ],
      lastDeployment: {
        id: "d1",
        tag: "v3",
        status: "succeeded",
        startedAt: "2026-12-07T00:00:00Z",
        trigger: "release",
        commit: "abcdef0123",
      },
      lock: { deploymentId: "d2", actor: "bob", host: "ci-7", pid: 42, startedAt: "2026-12-07T01:00:00Z" },
    });
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("prod: stack up");
    expect(lines[1]).toMatch(/^SERVICE +TAG +IMAGE +DIGEST +DEPLOYMENTS +HEALTH$/);
    expect(lines[2]).toMatch(/^api +v3 +app +sha256:ab12ab12ab12 +PRIMARY COMPLETED +HTTP 200$/);
    expect(lines[3]).toMatch(/^web +- +- +- +- +unreachable \(ECONNREFUSED\)$/);
    expect(lines[4]).toBe("last deploy: v3 succeeded at 2026-12-07T00:00:00Z (d1; release abcdef0)");
    expect(lines[5]).toBe("lock: held by bob on ci-7 (pid 42) since 2026-12-07T01:00:00Z, deployment d2");
  });

  it("GIVEN every environment WHEN rendered THEN one row per environment × service, deployed when and by whom, the lock; unreadable ones said below", () => {
    const text = renderStatusAll([
      {
        env: "prod",
        stack: "up",
        services: [
          {
            service: "api",
            tag: "v3",
            image: `123.dkr.ecr.us-east-1.amazonaws.com/app@${DIGEST}`,
            taskDefinition: "arn:td:9",
            deployments: ["PRIMARY IN_PROGRESS ecs-svc/2", "ACTIVE COMPLETED ecs-svc/1"],
            health: "HTTP 200",
          },
        ],
        lastDeployment: {
          id: "d1",
          tag: "v3",
          status: "succeeded",
          startedAt: "2026-12-07T00:00:00.123Z",
          actor: "ana",
        },
        lock: { deploymentId: "d2", actor: "bob", host: "ci-7", pid: 42, startedAt: "2026-12-07T01:00:00Z" },
      },
      { env: "qa", stack: "not created", services: [], lastDeployment: null, lock: null },
      { env: "staging", error: "no AWS credentials" },
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ENV +SERVICE +TAG +DIGEST +ROLLOUT +HEALTH +DEPLOYED +BY +LOCK$/);
    expect(lines[1]).toMatch(
      /^prod +api +v3 +sha256:ab12ab12ab12 +IN_PROGRESS, COMPLETED +HTTP 200 +2026-12-07T00:00:00Z succeeded +ana +bob \(d2\)$/,
    );
    expect(lines[2]).toMatch(/^qa +- +- +- +stack not created +- +- +- +free$/);
    expect(lines[3]).toBe("staging: could not be read: no AWS credentials");
  });

  it("GIVEN a result without a view WHEN rendered THEN its title and its data as indented YAML", () => {
    expect(renderResult("sandbox started", { endpoint: "http://127.0.0.1:1234", pid: 7 })).toBe(
      "sandbox started\n  endpoint: http://127.0.0.1:1234\n  pid: 7\n",
    );
    expect(renderResult("stack destroyed", null)).toBe("stack destroyed\n");
  });

  it.each([
    [400, "0.4 s"],
    [59_940, "59.9 s"],
    [61_000, "1 min 01 s"],
    [3_600_000, "60 min 00 s"],
  ])("GIVEN %d ms WHEN formatted THEN %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("GIVEN digests WHEN shortened THEN the algorithm and 12 hex digits, or a dash", () => {
    expect(shortDigest(DIGEST)).toBe("sha256:ab12ab12ab12");
    expect(shortDigest(undefined)).toBe("-");
  });
});
