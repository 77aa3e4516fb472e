/**
 * Hooks and the smoke gate inside whole deploys (runDeploy over the fake environment): when each
 * hook runs, with which GANTRY_* environment, what its failure does to the exit code, what the
 * final record keeps, and how the plan shows them.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import type { gantryConfigSchema } from "../../../src/config/schema.ts";
import { EXIT } from "../../../src/errors.ts";
import { runDeploy } from "../../../src/steps/deploy.ts";
import { planHooks } from "../../../src/steps/hooks.ts";
import { planDeploy } from "../../../src/steps/plan.ts";
import { type FakeContextOverrides, fakeDeployContext } from "../../fakes/context.ts";

type Gantry = z.input<typeof gantryConfigSchema>;

/** A hook that prints its GANTRY_* environment, then exits with `code`. */
const printing = (code = 0) => ({
  command: `echo "status=$GANTRY_STATUS previous=$GANTRY_PREVIOUS_TAG env=$GANTRY_ENV tag=$GANTRY_TAG id=$GANTRY_DEPLOYMENT_ID base=$BASE_URL"; exit ${String(code)}`,
  timeoutSeconds: 10,
});

async function deploy(gantry: Gantry, overrides: FakeContextOverrides = {}) {
  const ctx = fakeDeployContext({ ...overrides, gantry: { bakeSeconds: 0, ...gantry } });
  const result = await runDeploy(ctx, { signal: new AbortController().signal });
  return { ctx, result };
}

const changed = (ctx: ReturnType<typeof fakeDeployContext>) =>
  ctx.fake.log.calls
    .map((c) => c.name)
    .filter((n) =>
      [
        "stack.up",
        "rds.createSnapshot",
        "ecs.runTask",
        "ecs.registerTaskDefinition",
        "ecs.updateService",
      ].includes(n),
    );

describe("hooks in a deploy", () => {
  it("GIVEN every hook WHEN the deploy succeeds THEN preDeploy and postDeploy run with the GANTRY_* environment, the end hooks do not, and the record lists them", async () => {
    const { ctx, result } = await deploy({
      hooks: { preDeploy: printing(), postDeploy: printing(), onRollback: printing(), onFailure: printing() },
    });
    expect(result.exitCode, String(result.error)).toBe(EXIT.ok);
    expect(result.record.steps.map((s) => s.name)).toEqual([
      "preflight",
      "preDeploy",
      "stack",
      "snapshot",
      "migrate",
      "release",
      "gates",
      "postDeploy",
    ]);
    const id = ctx.request.deploymentId;
    expect(result.record.hooks?.map((h) => [h.name, h.status, h.tail])).toEqual([
      [
        "preDeploy",
        "succeeded",
        [`status=started previous=v1.0.0 env=sandbox tag=v2.0.0 id=${id} base=http://127.0.0.1:9`],
      ],
      [
        "postDeploy",
        "succeeded",
        [`status=succeeded previous=v1.0.0 env=sandbox tag=v2.0.0 id=${id} base=http://127.0.0.1:9`],
      ],
    ]);
    expect(ctx.reporter.messages("info")).toContainEqual(
      expect.stringMatching(/^preDeploy \| status=started /),
    );
  });

  it("GIVEN a preDeploy hook that fails WHEN deployed THEN exit 1, nothing changed, the lock is free, and onFailure runs with status failed", async () => {
    const { ctx, result } = await deploy({ hooks: { preDeploy: printing(4), onFailure: printing() } });
    expect(result.exitCode).toBe(EXIT.failed);
    expect(result.record.status).toBe("failed");
    expect(result.record.steps.map((s) => [s.name, s.status])).toEqual([
      ["preflight", "succeeded"],
      ["preDeploy", "failed"],
    ]);
    expect(result.record.steps[1]?.detail).toMatch(
      /^hook preDeploy ".*" exited with code 4: status=started /,
    );
    expect(changed(ctx)).toEqual([]);
    expect(await ctx.lock.holder()).toBeUndefined();
    expect(result.record.hooks?.map((h) => [h.name, h.status, h.exitCode])).toEqual([
      ["preDeploy", "failed", 4],
      ["onFailure", "succeeded", 0],
    ]);
    expect(result.record.hooks?.[1]?.tail[0]).toMatch(/^status=failed previous=v1\.0\.0 /);
  });

  it("GIVEN a postDeploy hook set to warn that fails WHEN deployed THEN exit 0, the release stays, a warning says so, and the record says warned", async () => {
    const { ctx, result } = await deploy({
      hooks: { postDeploy: { ...printing(2), onError: "warn" }, onFailure: printing() },
    });
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.record.status).toBe("succeeded");
    expect(result.record.current?.tag).toBe("v2.0.0");
    expect(result.record.hooks?.map((h) => [h.name, h.status])).toEqual([["postDeploy", "warned"]]);
    expect(ctx.reporter.messages("warn")).toContainEqual(
      expect.stringMatching(
        /^hook postDeploy ".*" exited with code 2: .*\(gantry:hooks\.postDeploy\.onError: warn, the release stays\)$/,
      ),
    );
  });

  it("GIVEN a postDeploy hook that fails (onError fail, the default) WHEN deployed THEN exit 3, rolled back and verified, and onRollback then onFailure run with status rolled_back", async () => {
    const { result } = await deploy({
      hooks: { postDeploy: printing(1), onRollback: printing(), onFailure: printing() },
    });
    expect(result.exitCode).toBe(EXIT.rolledBack);
    expect(result.record.status).toBe("rolled_back");
    expect(result.record.current?.tag).toBe("v1.0.0");
    expect(result.record.steps.find((s) => s.name === "postDeploy")?.detail).toMatch(
      /^hook postDeploy .* exited with code 1/,
    );
    expect(result.record.hooks?.map((h) => [h.name, h.status])).toEqual([
      ["postDeploy", "failed"],
      ["onRollback", "succeeded"],
      ["onFailure", "succeeded"],
    ]);
    expect(result.record.hooks?.[1]?.tail[0]).toMatch(
      /^status=rolled_back previous=v1\.0\.0 env=sandbox tag=v2\.0\.0 /,
    );
  });

  it("GIVEN an onFailure hook that itself fails THEN it is only reported: the exit code stays that of the deploy", async () => {
    const { ctx, result } = await deploy({ hooks: { preDeploy: printing(1), onFailure: printing(9) } });
    expect(result.exitCode).toBe(EXIT.failed);
    expect(ctx.reporter.messages("warn")).toContainEqual(
      expect.stringMatching(/^hook onFailure ".*" exited with code 9/),
    );
  });
});

describe("the smoke gate in a deploy", () => {
  it("GIVEN a smoke command that exits 1 WHEN deployed THEN the gates fail, exit 3, rolled back, and the record keeps the smoke output", async () => {
    const { result } = await deploy({ smoke: { command: { command: "echo 'checkout: FAIL'; exit 1" } } });
    expect(result.exitCode).toBe(EXIT.rolledBack);
    expect(result.record.steps.find((s) => s.name === "gates")).toMatchObject({
      status: "failed",
      detail: expect.stringMatching(
        /^smoke failed: smoke ".*" exited with code 1: checkout: FAIL$/,
      ) as string,
    });
    expect(result.record.smoke).toMatchObject({
      skipped: false,
      command: { exitCode: 1, tail: ["checkout: FAIL"] },
    });
  });

  it("GIVEN a passing smoke check WHEN deployed THEN exit 0 and the record has the check", async () => {
    const { result } = await deploy({
      smoke: { checks: [{ name: "web", path: "/web/health", expectJson: { version: "${tag}" } }] },
    });
    expect(result.exitCode, String(result.error)).toBe(EXIT.ok);
    expect(result.record.smoke?.checks.map((c) => [c.name, c.status])).toEqual([["web", "passed"]]);
  });

  it("GIVEN --skip-smoke WHEN deployed THEN the smoke gate does not run and the record says it was skipped", async () => {
    const { ctx, result } = await deploy(
      { smoke: { command: { command: "exit 1" } } },
      { request: { skipSmoke: true } },
    );
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.record.smoke).toEqual({ skipped: true, checks: [] });
    expect(ctx.reporter.messages("warn")).toContain("smoke gate skipped (--skip-smoke)");
  });

  it("GIVEN no smoke and no hooks WHEN deployed THEN the record has neither field (unchanged shape)", async () => {
    const { result } = await deploy({});
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.record).not.toHaveProperty("smoke");
    expect(result.record).not.toHaveProperty("hooks");
  });
});

describe("the plan", () => {
  it("GIVEN hooks and smoke THEN the plan shows preDeploy and postDeploy steps, smoke in the gates, and planHooks lists all four hooks", () => {
    const ctx = fakeDeployContext({
      gantry: {
        smoke: { checks: [{ name: "health", path: "/health" }] },
        hooks: {
          preDeploy: { command: "./scripts/changelog-check.sh", timeoutSeconds: 30 },
          postDeploy: { command: ["npm", "run", "notify"], onError: "warn" },
          onRollback: { command: "./page.sh" },
          onFailure: { command: "./notify.sh failure" },
        },
      },
    });
    const plan = planDeploy(ctx);
    expect(plan.map((p) => p.step.name)).toEqual([
      "preflight",
      "preDeploy",
      "stack",
      "snapshot",
      "migrate",
      "release",
      "gates",
      "postDeploy",
    ]);
    expect(plan[1]?.why).toBe(
      "hook: ./scripts/changelog-check.sh (timeout 30 s), after preflight, before any change; a failure aborts the deploy (exit 1, nothing changed)",
    );
    expect(plan.find((p) => p.step.name === "gates")?.why).toMatch(/; smoke: 1 HTTP check \(health\)$/);
    expect(plan.at(-1)?.why).toMatch(
      /^hook: npm run notify \(timeout 300 s\), .*only reported \(onError: warn\)$/,
    );
    expect(planHooks(ctx).map((h) => [h.hook, h.command])).toEqual([
      ["preDeploy", "./scripts/changelog-check.sh"],
      ["postDeploy", "npm run notify"],
      ["onRollback", "./page.sh"],
      ["onFailure", "./notify.sh failure"],
    ]);
  });

  it("GIVEN no hooks THEN the plan is the usual six steps", () => {
    expect(planDeploy(fakeDeployContext()).map((p) => p.step.name)).toEqual([
      "preflight",
      "stack",
      "snapshot",
      "migrate",
      "release",
      "gates",
    ]);
  });
});
