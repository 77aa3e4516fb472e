import { describe, expect, it } from "vitest";
import { deploySource, emergencyOf, releaseTargets } from "../../../src/app/request.ts";
import { UsageError } from "../../../src/errors.ts";
import type { ActionsContext } from "../../../src/github/context.ts";

const SERVICES = ["api", "web", "mcp"];

describe("releaseTargets", () => {
  it("GIVEN --tag WHEN resolved THEN every service at that tag, in config order", () => {
    expect(releaseTargets(SERVICES, { tag: "v2" })).toEqual({
      tag: "v2",
      targets: [
        { name: "api", tag: "v2" },
        { name: "web", tag: "v2" },
        { name: "mcp", tag: "v2" },
      ],
    });
  });

  it("GIVEN --tag and --image web=v3 WHEN resolved THEN web gets its own tag and the others --tag", () => {
    expect(releaseTargets(SERVICES, { tag: "v2", images: ["web=v3"] }).targets).toEqual([
      { name: "api", tag: "v2" },
      { name: "web", tag: "v3" },
      { name: "mcp", tag: "v2" },
    ]);
  });

  it("GIVEN --services as a comma list and repeated WHEN resolved THEN only those, in config order", () => {
    expect(releaseTargets(SERVICES, { tag: "v2", services: ["mcp,api", "api"] }).targets).toEqual([
      { name: "api", tag: "v2" },
      { name: "mcp", tag: "v2" },
    ]);
  });

  it("GIVEN only --image for each released service WHEN resolved THEN no --tag is needed and the first one names the release", () => {
    expect(releaseTargets(SERVICES, { services: ["web"], images: ["web=v9"] })).toEqual({
      tag: "v9",
      targets: [{ name: "web", tag: "v9" }],
    });
  });

  it.each([
    [{}, /--tag is required/],
    [{ tag: "v2", images: ["nope=v3"] }, /--image: "nope" is not a service of this environment/],
    [{ tag: "v2", services: ["nope"] }, /--services: "nope" is not a service/],
    [{ tag: "v2", images: ["web"] }, /--image "web": expected SERVICE=TAG/],
    [{ tag: "v2", images: ["web=v3", "web=v4"] }, /--image web is given twice/],
    [{ tag: "v2", services: ["api"], images: ["web=v3"] }, /web is not released \(--services\)/],
    [{ services: ["api", "web"], images: ["web=v3"] }, /no tag for api/],
    [{ tag: "bad tag" }, /invalid image tag "bad tag"/],
    [{ tag: "v2", images: ["web=-x"] }, /invalid image tag "-x"/],
  ])("GIVEN %j WHEN resolved THEN a usage error", (selection, message) => {
    const err = (() => {
      try {
        releaseTargets(SERVICES, selection);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(message);
  });
});

describe("deploySource", () => {
  const actions = {
    owner: "acme",
    repo: "shop",
    apiUrl: "https://api.github.com",
    serverUrl: "https://github.com",
    runUrl: "https://github.com/acme/shop/actions/runs/7",
    token: undefined,
    sha: "0123456789abcdef0123456789abcdef01234567",
    ref: "refs/heads/main",
    pullRequest: undefined,
    summaryFile: undefined,
    outputFile: undefined,
    eventName: "workflow_dispatch",
    commitMessage: "fix the login",
  } satisfies ActionsContext;

  it("GIVEN a terminal and no flags WHEN built THEN only the trigger terminal", () => {
    expect(deploySource(undefined, {})).toEqual({ trigger: "terminal" });
  });

  it("GIVEN an Actions dispatch run WHEN built THEN its commit, message, run URL and the dispatch trigger", () => {
    expect(deploySource(actions, { reason: "  hotfix  " })).toEqual({
      trigger: "dispatch",
      commit: actions.sha,
      commitMessage: "fix the login",
      runUrl: actions.runUrl,
      reason: "hotfix",
    });
  });

  it("GIVEN --commit and --pr in Actions WHEN built THEN the flags win", () => {
    expect(deploySource({ ...actions, eventName: "push" }, { commit: "abcdef1", pr: 9 })).toMatchObject({
      trigger: "push",
      commit: "abcdef1",
      pr: 9,
    });
  });

  it.each([
    [{ commit: "main" }, /--commit "main" is not a commit SHA/],
    [{ pr: 0 }, /--pr 0 is not a pull request number/],
    [{ reason: " " }, /--reason must be 1 to 500 characters/],
  ])("GIVEN %j WHEN built THEN a usage error", (flags, message) => {
    expect(() => deploySource(undefined, flags)).toThrow(message);
  });
});

describe("emergencyOf", () => {
  it("GIVEN no --emergency THEN no emergency, whatever the reason", () => {
    expect(emergencyOf({ reason: "x" })).toBeUndefined();
    expect(emergencyOf({ emergency: false })).toBeUndefined();
  });
  it("GIVEN --emergency --reason THEN the trimmed reason is what the request records", () => {
    expect(emergencyOf({ emergency: true, reason: "  checkout down " })).toEqual({ reason: "checkout down" });
  });
  it.each([undefined, "", "   "])(
    "GIVEN --emergency with reason %j THEN a usage error asking for one",
    (reason) => {
      expect(() => emergencyOf({ emergency: true, reason })).toThrow(UsageError);
      expect(() => emergencyOf({ emergency: true, reason })).toThrow("--emergency needs --reason");
    },
  );
});
