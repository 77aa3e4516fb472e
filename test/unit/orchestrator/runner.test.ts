import { describe, expect, it } from "vitest";
import { outputOf, runSteps, type Step } from "../../../src/orchestrator/runner.ts";

type Ctx = { log: string[] };

function step(name: string, opts: { fail?: boolean; undo?: "ok" | "fail" } = {}): Step<Ctx, string> {
  return {
    name,
    run: (ctx) => {
      ctx.log.push(`run ${name}`);
      return opts.fail ? Promise.reject(new Error(`${name} broke`)) : Promise.resolve(`${name}-out`);
    },
    ...(opts.undo
      ? {
          undo: (ctx: Ctx, output: string) => {
            ctx.log.push(`undo ${name}(${output})`);
            return opts.undo === "fail" ? Promise.reject(new Error(`undo ${name} broke`)) : Promise.resolve();
          },
        }
      : {}),
  };
}

describe("runSteps", () => {
  it("GIVEN a failing second step WHEN run THEN outputOf gives each step's own output, and nothing for the failed or unrun ones", async () => {
    const a = step("a");
    const b = step("b", { fail: true });
    const c = step("c");
    const counted: Step<Ctx, number> = { name: "n", run: () => Promise.resolve(42) };

    const out = await runSteps([counted, a, b, c], { log: [] });

    expect(outputOf(out, counted)).toBe(42);
    expect(outputOf(out, a)).toBe("a-out");
    expect(outputOf(out, b)).toBeUndefined();
    expect(outputOf(out, c)).toBeUndefined();
  });

  it("GIVEN steps that succeed WHEN run THEN they run in order and nothing is undone", async () => {
    const ctx: Ctx = { log: [] };
    const out = await runSteps([step("a", { undo: "ok" }), step("b")], ctx);
    expect(out.ok).toBe(true);
    expect(ctx.log).toEqual(["run a", "run b"]);
    expect(out.steps.map((s) => [s.name, s.status])).toEqual([
      ["a", "succeeded"],
      ["b", "succeeded"],
    ]);
  });

  it("GIVEN a failing third step WHEN run THEN earlier undos run in reverse with their outputs", async () => {
    const ctx: Ctx = { log: [] };
    const out = await runSteps(
      [
        step("a", { undo: "ok" }),
        step("b", { undo: "ok" }),
        step("c", { fail: true, undo: "ok" }),
        step("d"),
      ],
      ctx,
    );
    expect(ctx.log).toEqual(["run a", "run b", "run c", "undo b(b-out)", "undo a(a-out)"]);
    expect(out).toMatchObject({ ok: false, failedStep: "c", undone: true });
    expect(out.ok ? undefined : (out.error as Error).message).toBe("c broke");
  });

  it("GIVEN a failing undo WHEN unwinding THEN the original error is kept, the rest still unwinds, undone is false", async () => {
    const ctx: Ctx = { log: [] };
    const out = await runSteps(
      [step("a", { undo: "ok" }), step("b", { undo: "fail" }), step("c", { fail: true })],
      ctx,
    );
    expect(ctx.log).toEqual(["run a", "run b", "run c", "undo b(b-out)", "undo a(a-out)"]);
    expect(out).toMatchObject({ ok: false, failedStep: "c", undone: false });
    expect(out.ok ? undefined : (out.error as Error).message).toBe("c broke");
    expect(out.steps.map((s) => s.status)).toEqual([
      "succeeded",
      "succeeded",
      "failed",
      "undo_failed",
      "undone",
    ]);
  });

  it("GIVEN an aborted signal WHEN the next step would start THEN it does not run and earlier steps are undone", async () => {
    const ctx: Ctx = { log: [] };
    const controller = new AbortController();
    const abortingStep: Step<Ctx, string> = {
      name: "b",
      run: (c) => {
        c.log.push("run b");
        controller.abort(new Error("SIGINT"));
        return Promise.resolve("b-out");
      },
      undo: (c) => {
        c.log.push("undo b");
        return Promise.resolve();
      },
    };
    const out = await runSteps([step("a", { undo: "ok" }), abortingStep, step("c")], ctx, {
      signal: controller.signal,
    });
    expect(ctx.log).toEqual(["run a", "run b", "undo b", "undo a(a-out)"]);
    expect(out).toMatchObject({ ok: false, failedStep: "c", undone: true });
  });

  it("GIVEN an observer WHEN steps run THEN it sees each start and end", async () => {
    const seen: string[] = [];
    await runSteps(
      [step("a"), step("b", { fail: true })],
      { log: [] },
      {
        observer: {
          onStepStart: (n) => {
            seen.push(`start ${n}`);
          },
          onStepEnd: (r) => seen.push(`${r.status} ${r.name}`),
        },
      },
    );
    expect(seen).toEqual(["start a", "succeeded a", "start b", "failed b"]);
  });
});

describe("runSteps with an async observer", () => {
  it("GIVEN a slow onStepStart WHEN a step runs THEN the step starts only after it resolved; a throwing one fails the step", async () => {
    const order: string[] = [];
    const ok = await runSteps(
      [{ name: "a", run: () => Promise.resolve(order.push("run a")) }],
      {},
      {
        observer: {
          onStepStart: async (n) => {
            await new Promise((r) => setTimeout(r, 20));
            order.push(`journaled ${n}`);
          },
        },
      },
    );
    expect(ok.ok).toBe(true);
    expect(order).toEqual(["journaled a", "run a"]);
    const failed = await runSteps(
      [{ name: "b", run: () => Promise.resolve(order.push("run b")) }],
      {},
      { observer: { onStepStart: () => Promise.reject(new Error("store down")) } },
    );
    expect(failed).toMatchObject({ ok: false, failedStep: "b" });
    expect(order).not.toContain("run b");
  });
});
