/**
 * The Automation API adapter (src/pulumi/automation.ts) over a stand-in for the SDK's Stack that
 * prints and ends the way a `pulumi` run does (test/integration/stack.test.ts runs the real
 * engine): how the engine's output and gantry's own cancellation reach the caller.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AutomationStack, heardWhenLate, parseOutputs } from "../../../src/pulumi/automation.ts";
import type { PulumiCli } from "../../../src/pulumi/cli.ts";
import { fakeEnvironment } from "../../fakes/ports.ts";
import { CANCELLED_UP, failedCommand } from "./engine-failures.ts";

/** The SDK's Stack as far as the adapter uses it; each test says what a run prints and how it ends. */
const sdkStack = vi.hoisted(() => {
  interface Run {
    readonly onOutput?: (out: string) => void;
    readonly signal?: AbortSignal;
  }
  const stack = {
    name: "sandbox",
    /** Engine runs started. */
    runs: 0,
    /** What the next run prints, chunk by chunk (the SDK passes stdout's chunks as they come). */
    chunks: [] as string[],
    /** How a run ends once it printed (the SDK's signal handling: one SIGINT when it aborts). */
    end: (_signal: AbortSignal | undefined): Promise<void> => Promise.resolve(),
    outputs: {} as Record<string, { value: unknown; secret: boolean }>,
    setAllConfig: () => Promise.resolve(),
    async up(run: Run) {
      stack.runs += 1;
      for (const chunk of stack.chunks) run.onOutput?.(chunk);
      await stack.end(run.signal);
      return { summary: { resourceChanges: { same: 12 } }, outputs: stack.outputs };
    },
  };
  return stack;
});

vi.mock("@pulumi/pulumi/automation/index.js", async (importOriginal) => ({
  ...(await importOriginal<typeof import("@pulumi/pulumi/automation/index.js")>()),
  LocalWorkspace: { createOrSelectStack: () => Promise.resolve(sdkStack) },
}));

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "gantry-automation-"));
  sdkStack.runs = 0;
  sdkStack.chunks = [];
  sdkStack.end = () => Promise.resolve();
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** The adapter over {@link sdkStack}. */
function open(): Promise<AutomationStack> {
  return AutomationStack.open({
    stackName: "sandbox",
    workDir,
    projectName: "platform",
    config: {},
    program: () => Promise.resolve({}),
    cli: { binDir: workDir } as PulumiCli,
  });
}

describe("AutomationStack", () => {
  it("GIVEN an update whose output arrives in chunks that split lines WHEN up runs THEN onOutput gets each non-blank line whole, and the outputs are validated", async () => {
    const outputs = fakeEnvironment().outputs;
    sdkStack.outputs = Object.fromEntries(
      Object.entries(outputs).map(([k, value]) => [k, { value, secret: false }]),
    );
    sdkStack.chunks = [
      "Updating (sandbox):\n\n +  platform:Serv",
      "ice web created\n",
      "Resources:\n    1 created",
    ];
    const lines: string[] = [];

    const res = await (await open()).up({ onOutput: (line) => lines.push(line) });

    expect(lines).toEqual([
      "Updating (sandbox):",
      " +  platform:Service web created",
      "Resources:",
      "    1 created",
    ]);
    expect(res).toEqual({ changeSummary: { same: 12 }, outputs });
  });

  it("GIVEN an update in flight WHEN gantry aborts its signal THEN the engine is stopped and the failure is STACK_UP_CANCELLED, though the engine's text speaks of pending operations", async () => {
    let printed: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (printed = resolve));
    sdkStack.chunks = ["Updating (sandbox):\n"];
    sdkStack.end = (signal) =>
      new Promise((_, reject) => {
        signal?.addEventListener("abort", () => {
          reject(failedCommand(CANCELLED_UP));
        });
      });
    const controller = new AbortController();

    const update = (await open()).up({ onOutput: printed, signal: controller.signal });
    await running;
    controller.abort(new Error("SIGINT"));

    await expect(update).rejects.toMatchObject({
      code: "STACK_UP_CANCELLED",
      message: "pulumi up of stack sandbox was cancelled: gantry was interrupted",
    });
  });

  it("GIVEN the same failure while gantry's signal never fired WHEN up fails THEN it is the pending operations of an interrupted update", async () => {
    sdkStack.end = () => Promise.reject(failedCommand(CANCELLED_UP));

    await expect((await open()).up({ signal: new AbortController().signal })).rejects.toMatchObject({
      code: "STACK_PENDING_OPERATIONS",
    });
  });

  it("GIVEN a signal that already fired WHEN up is asked THEN the engine is never started and the update reads as cancelled", async () => {
    const stack = await open();

    await expect(stack.up({ signal: AbortSignal.abort(new Error("SIGINT")) })).rejects.toMatchObject({
      code: "STACK_UP_CANCELLED",
    });
    expect(sdkStack.runs).toBe(0);
  });
});

describe("heardWhenLate", () => {
  it("GIVEN a signal that aborts WHEN a listener was added before THEN it hears the abort once", async () => {
    const ac = new AbortController();
    const heard: string[] = [];
    heardWhenLate(ac.signal).addEventListener("abort", () => heard.push("early"));
    ac.abort();
    await Promise.resolve();
    expect(heard).toEqual(["early"]);
  });

  it("GIVEN a signal that already aborted WHEN the SDK adds its listener late THEN the listener runs (the engine gets its SIGINT)", async () => {
    const ac = new AbortController();
    ac.abort();
    const late = heardWhenLate(ac.signal);
    const heard: string[] = [];
    late.addEventListener("abort", (e) => heard.push(e.type));
    late.addEventListener("abort", { handleEvent: (e) => heard.push(`object ${e.type}`) });
    expect(heard).toEqual([]);
    await Promise.resolve();
    expect(heard).toEqual(["abort", "object abort"]);
    expect(late.aborted).toBe(true);
  });

  it("GIVEN a signal that never aborts WHEN listened to THEN nothing runs", async () => {
    const ac = new AbortController();
    const heard: string[] = [];
    heardWhenLate(ac.signal).addEventListener("abort", () => heard.push("x"));
    await new Promise((r) => setTimeout(r, 5));
    expect(heard).toEqual([]);
  });
});

describe("parseOutputs", () => {
  it("GIVEN outputs missing a key WHEN parsed THEN STACK_OUTPUTS_INVALID names the path", () => {
    expect(() => parseOutputs("dev", { clusterName: "c" })).toThrow(
      /outputs do not satisfy EnvironmentOutputs: services/,
    );
  });
});
