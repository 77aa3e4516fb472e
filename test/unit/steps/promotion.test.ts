/**
 * Promotion (src/steps/promotion.ts): the rules, pure — a digest must have succeeded in the source
 * environment, and with requireServing be served there now, settled and healthy, for the soak
 * time — and preflight's check through a stand-in source (the real one is wired from the other
 * environment's config: test/scenarios/promotion.test.ts).
 */
import { describe, expect, it } from "vitest";
import type { PromotionPolicy, PromotionSource, SourceServing } from "../../../src/steps/context.ts";
import { preflight } from "../../../src/steps/preflight.ts";
import { promotionProblems, servingSince } from "../../../src/steps/promotion.ts";
import type { DeploymentRecord, ServiceRecord } from "../../../src/steps/record.ts";
import { fakeDeployContext } from "../../fakes/context.ts";

const A = `sha256:${"a".repeat(64)}`;
const B = `sha256:${"b".repeat(64)}`;
const NOW = Date.parse("2026-12-07T12:00:00Z");
const policy: PromotionPolicy = { from: "staging", requireServing: true, minSoakMinutes: 0 };
const signal = new AbortController().signal;

/** A record of staging that released `digest` to web and ended `minutesAgo` before NOW, leaving web on `left`. */
function record(
  id: string,
  digest: string,
  status: DeploymentRecord["status"],
  minutesAgo: number,
  left = status === "succeeded" ? digest : B,
): DeploymentRecord {
  const web: ServiceRecord = {
    name: "web",
    image: "web",
    tag: "v2",
    digest,
    previous: null,
    current: { tag: "v2", taskDefinitionArn: "td:2", digest: left },
    outcome: status === "succeeded" ? "released" : "rolled_back",
  };
  return {
    id,
    env: "staging",
    tag: "v2",
    imageDigest: digest,
    status,
    startedAt: new Date(NOW - minutesAgo * 60_000 - 1000).toISOString(),
    durationMs: 1000,
    actor: "ci",
    previous: null,
    current: web.current,
    services: [web],
    snapshotId: null,
    steps: [],
  };
}

const healthy = (digest: string | undefined, settled = true): SourceServing => ({
  tag: "v2",
  digest,
  settled,
  health: { state: "pass", detail: "200, version=v2" },
});

const web = [{ name: "web", tag: "v2", digest: A }];

describe("promotionProblems", () => {
  it("GIVEN the digest succeeded in staging and staging serves it, healthy WHEN checked THEN no problem", () => {
    expect(
      promotionProblems(policy, web, [record("s1", A, "succeeded", 5)], new Map([["web", healthy(A)]]), NOW),
    ).toEqual([]);
  });

  it("GIVEN a digest that never succeeded in staging (only a rolled-back attempt) WHEN checked THEN refused naming the service, tag and digest", () => {
    expect(
      promotionProblems(
        policy,
        web,
        [record("s1", A, "rolled_back", 5)],
        new Map([["web", healthy(B)]]),
        NOW,
      ),
    ).toEqual(["web: v2 (sha256:aaaaaaaaaaaa) never succeeded in staging"]);
  });

  it("GIVEN staging succeeded with it but now serves another digest WHEN checked THEN refused with what staging serves", () => {
    const history = [record("s2", B, "succeeded", 1), record("s1", A, "succeeded", 30)];
    expect(promotionProblems(policy, web, history, new Map([["web", healthy(B)]]), NOW)).toEqual([
      "web: staging serves v2 (sha256:bbbbbbbbbbbb), not sha256:aaaaaaaaaaaa",
    ]);
  });

  it("GIVEN requireServing false WHEN staging serves something else THEN the ledger alone decides", () => {
    const history = [record("s2", B, "succeeded", 1), record("s1", A, "succeeded", 30)];
    expect(
      promotionProblems(
        { ...policy, requireServing: false },
        web,
        history,
        new Map([["web", healthy(B)]]),
        NOW,
      ),
    ).toEqual([]);
  });

  it.each<[string, SourceServing, string]>([
    ["mid-rollout", healthy(A, false), "web: staging is still rolling out sha256:aaaaaaaaaaaa"],
    [
      "unhealthy",
      { ...healthy(A), health: { state: "fail", code: "HEALTH_HTTP", detail: "HTTP 500" } },
      "web: staging is not healthy on sha256:aaaaaaaaaaaa: HTTP 500",
    ],
  ])("GIVEN staging serves the digest but is %s WHEN checked THEN refused", (_what, serving, problem) => {
    expect(
      promotionProblems(policy, web, [record("s1", A, "succeeded", 5)], new Map([["web", serving]]), NOW),
    ).toEqual([problem]);
  });

  it("GIVEN staging has no such service WHEN checked THEN refused", () => {
    expect(promotionProblems(policy, web, [record("s1", A, "succeeded", 5)], new Map(), NOW)).toEqual([
      "web: staging has no such service",
    ]);
  });

  it("GIVEN a 30-minute soak and 10 minutes served WHEN checked THEN refused with both numbers; after 40 minutes it passes", () => {
    const soak = { ...policy, minSoakMinutes: 30 };
    const serving = new Map([["web", healthy(A)]]);
    expect(promotionProblems(soak, web, [record("s1", A, "succeeded", 10)], serving, NOW)).toEqual([
      "web: sha256:aaaaaaaaaaaa has served in staging for 10 min, less than 30 (gantry:promotion.minSoakMinutes)",
    ]);
    expect(promotionProblems(soak, web, [record("s1", A, "succeeded", 40)], serving, NOW)).toEqual([]);
  });

  it("GIVEN a record from before per-service records WHEN checked THEN its one image digest counts", () => {
    const { services: _s, ...old } = record("s0", A, "succeeded", 5);
    expect(promotionProblems(policy, web, [old], new Map([["web", healthy(A)]]), NOW)).toEqual([]);
  });
});

describe("servingSince", () => {
  it("GIVEN redeploys of the same digest after the first WHEN asked THEN the end of the oldest of the unbroken run", () => {
    const history = [
      record("s3", A, "succeeded", 1),
      record("s2", B, "rolled_back", 5, A), // a failed attempt that was rolled back leaves A running
      record("s1", A, "succeeded", 20),
      record("s0", B, "succeeded", 60),
    ];
    expect(servingSince(history, "web", A)).toBe(NOW - 20 * 60_000);
  });

  it("GIVEN the newest record left another digest WHEN asked THEN undefined", () => {
    expect(servingSince([record("s1", B, "succeeded", 1)], "web", A)).toBeUndefined();
  });
});

describe("preflight's promotion check", () => {
  /** A stand-in for staging: its history and what web and api serve. */
  function staging(history: DeploymentRecord[], serving: (digest: string) => Map<string, SourceServing>) {
    const asked: string[] = [];
    const source: PromotionSource = {
      env: "staging",
      history: () => {
        asked.push("history");
        return Promise.resolve(history);
      },
      serving: (services) => {
        asked.push(`serving ${services.join(",")}`);
        return Promise.resolve(serving(""));
      },
    };
    return { source, asked };
  }

  it("GIVEN prod promoted from staging and v2 never deployed there WHEN preflight runs THEN PROMOTION_REFUSED (exit 1) naming every service, the lock released, nothing changed", async () => {
    const base = fakeDeployContext({ request: { env: "prod" }, gantry: { promotion: { from: "staging" } } });
    const { source } = staging([], () => new Map());
    const ctx = { ...base, promotion: { policy, source } };

    const err = await preflight.run(ctx, signal).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: "PROMOTION_REFUSED", source: "user" });
    const digest = base.fake.images.image("v2.0.0").digest;
    expect((err as Error).message).toBe(
      `promotion from staging refused: web: v2.0.0 (${digest.slice(0, 19)}) never succeeded in staging; api: v2.0.0 (${digest.slice(0, 19)}) never succeeded in staging`,
    );
    expect((err as { hint?: string }).hint).toContain("gantry promote --from staging --to prod");
    expect(base.store.objects.has("locks/prod.json")).toBe(false);
    expect(base.fake.log.names().filter((n) => !["images.resolve", "stack.outputs"].includes(n))).toEqual([]);
  });

  it("GIVEN staging serves v2's digest, healthy, after a succeeded deploy WHEN preflight runs THEN it passes and says so", async () => {
    const base = fakeDeployContext({ request: { env: "prod" }, gantry: { promotion: { from: "staging" } } });
    const digest = base.fake.images.image("v2.0.0").digest;
    const rec = record("s1", digest, "succeeded", 5);
    const both = { ...rec, services: ["web", "api"].map((name) => ({ ...rec.services![0]!, name })) };
    const { source, asked } = staging([both], () => new Map(["web", "api"].map((n) => [n, healthy(digest)])));

    await preflight.run({ ...base, promotion: { policy, source } }, signal);

    expect(asked.sort()).toEqual(["history", "serving web,api"]);
    expect(base.reporter.messages("info")).toContainEqual(
      expect.stringMatching(/^promotion from staging: web sha256:\w{12}, api sha256:\w{12} verified there$/),
    );
  });

  it("GIVEN an emergency deploy WHEN preflight runs THEN the check is skipped with a warning giving the reason, and staging is not asked", async () => {
    const base = fakeDeployContext({
      request: { env: "prod", emergency: { reason: "checkout is down" } },
      gantry: { promotion: { from: "staging" } },
    });
    const { source, asked } = staging([], () => new Map());

    await preflight.run({ ...base, promotion: { policy, source } }, signal);

    expect(asked).toEqual([]);
    expect(base.reporter.messages("warn")).toContainEqual(
      "emergency deploy: the promotion check (from staging) and the smoke gate are skipped — checkout is down",
    );
  });

  it("GIVEN gantry:promotion and a rollback (no source wired: a version prod already ran) WHEN preflight runs THEN nothing is checked", async () => {
    const ctx = fakeDeployContext({ request: { env: "prod" }, gantry: { promotion: { from: "staging" } } });
    await preflight.run(ctx, signal);
    expect(ctx.reporter.messages("info").filter((m) => m.startsWith("promotion"))).toEqual([]);
    expect(ctx.facts.lock).toBeDefined();
  });
});
