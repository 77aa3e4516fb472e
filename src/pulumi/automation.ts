/**
 * The Automation API adapter of StackPort: create or select an environment's stack with an inline
 * program, then preview (with the reviewer's diff), up, read outputs (validated against
 * EnvironmentOutputs), destroy and cancel. The engine's output reaches callers line by line; its
 * failures are classified into typed errors.
 */
import {
  type EngineEvent,
  LocalWorkspace,
  type PulumiFn,
  type Stack,
} from "@pulumi/pulumi/automation/index.js";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PulumiError } from "../errors.ts";
import { environmentOutputsSchema, type EnvironmentOutputs, isDatabaseResource } from "../stacks/outputs.ts";
import { classify } from "./classify.ts";
import type { PulumiCli } from "./cli.ts";
import { resourceChangeOf } from "./diff.ts";
import { engineLines } from "./output.ts";
import type {
  EngineRunOptions,
  PreviewOptions,
  PreviewResult,
  ResourceChange,
  StackPort,
  UpOptions,
  UpResult,
} from "./port.ts";

/** How to open a stack. */
export interface OpenStackOptions {
  readonly stackName: string;
  /**
   * gantry's own workspace folder for this stack (Pulumi.yaml and the stack settings Pulumi writes);
   * the repository's Pulumi.<env>.yaml is never rewritten by the engine.
   */
  readonly workDir: string;
  readonly projectName: string;
  /** Stack config to apply before every operation (from Pulumi.<env>.yaml). */
  readonly config: Readonly<Record<string, string>>;
  readonly program: PulumiFn;
  readonly cli: PulumiCli;
  /** e.g. `file:///…/.sandbox/pulumi`; undefined keeps the user's Pulumi login. */
  readonly backendUrl?: string;
  readonly passphrase?: string;
}

/** Automation API adapter of {@link StackPort}. */
export class AutomationStack implements StackPort {
  readonly name: string;
  private readonly stack: Stack;

  private constructor(stack: Stack) {
    this.stack = stack;
    this.name = stack.name;
  }

  /** Create or select the stack in `projectDir` (Pulumi.yaml + Pulumi.<stack>.yaml) with an inline program. */
  static async open(options: OpenStackOptions): Promise<AutomationStack> {
    const envVars: Record<string, string> = {
      PATH: `${options.cli.binDir}:${process.env.PATH ?? ""}`,
      PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    if (options.backendUrl) envVars.PULUMI_BACKEND_URL = options.backendUrl;
    if (options.passphrase !== undefined) envVars.PULUMI_CONFIG_PASSPHRASE = options.passphrase;
    try {
      await mkdir(options.workDir, { recursive: true });
      const stack = await LocalWorkspace.createOrSelectStack(
        { stackName: options.stackName, projectName: options.projectName, program: options.program },
        {
          workDir: options.workDir,
          pulumiCommand: options.cli.command,
          envVars,
          projectSettings: {
            name: options.projectName,
            runtime: "nodejs",
            description:
              "gantry workspace (generated; edit Pulumi.yaml and Pulumi.<env>.yaml in the project instead)",
          },
        },
      );
      await stack.setAllConfig(
        Object.fromEntries(Object.entries(options.config).map(([k, value]) => [k, { value, secret: false }])),
      );
      return new AutomationStack(stack);
    } catch (err) {
      throw classify(err, { action: "select", stackName: options.stackName });
    }
  }

  async preview(options: PreviewOptions = {}): Promise<PreviewResult> {
    const changes: ResourceChange[] = [];
    // Pulumi resolves relative paths against the workspace folder; the caller meant its own.
    const planFile = options.savePlan === undefined ? undefined : resolve(options.savePlan);
    return this.run("preview", options, async (engine) => {
      const res = await this.stack.preview({
        ...engine,
        diff: true,
        onEvent: (e) => {
          const change = resourceChangeOf(e);
          if (change) changes.push(change);
        },
        ...(planFile !== undefined ? { plan: planFile } : {}),
      });
      return {
        changeSummary: res.changeSummary,
        changes,
        diffText: res.stdout,
        ...(planFile !== undefined ? { planFile } : {}),
      };
    });
  }

  async up(options: UpOptions = {}): Promise<UpResult> {
    const planFile = options.plan === undefined ? undefined : resolve(options.plan);
    return this.run(
      "up",
      options,
      async (engine) => {
        // `--plan` needs no PULUMI_EXPERIMENTAL (v3.259: the flag is only hidden without it).
        const { onDatabaseStep } = options;
        const res = await this.stack.up({
          ...engine,
          ...(planFile !== undefined ? { plan: planFile } : {}),
          ...(onDatabaseStep
            ? {
                onEvent: (e: EngineEvent) => {
                  const meta = e.resourcePreEvent?.metadata;
                  if (meta && isDatabaseResource(meta.type, meta.new?.inputs ?? meta.old?.inputs)) {
                    onDatabaseStep(meta.op);
                  }
                },
              }
            : {}),
        });
        return {
          changeSummary: res.summary.resourceChanges ?? {},
          outputs: parseOutputs(
            this.name,
            Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value as unknown])),
          ),
        };
      },
      planFile,
    );
  }

  async outputs(): Promise<EnvironmentOutputs> {
    try {
      const out = await this.stack.outputs();
      return parseOutputs(
        this.name,
        Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value as unknown])),
      );
    } catch (err) {
      throw classify(err, { action: "outputs", stackName: this.name });
    }
  }

  async destroy(options: EngineRunOptions = {}): Promise<void> {
    await this.run("destroy", options, async (engine) => {
      await this.stack.destroy(engine);
    });
  }

  async cancel(): Promise<void> {
    try {
      await this.stack.cancel();
    } catch (err) {
      throw classify(err, { action: "cancel", stackName: this.name });
    }
  }

  /**
   * Run one engine command: its output split into lines for `options.onOutput`, `options.signal`
   * passed on (one SIGINT when it aborts; an already aborted signal starts nothing), its failure
   * classified, as cancelled when that signal stopped it.
   */
  private async run<T>(
    action: string,
    options: EngineRunOptions,
    command: (engine: EngineRun) => Promise<T>,
    planFile?: string,
  ): Promise<T> {
    const { onOutput, signal } = options;
    const lines = onOutput ? engineLines(onOutput) : undefined;
    try {
      // The SDK only listens for the abort event: a signal that already fired would go unheeded.
      signal?.throwIfAborted();
      return await command({
        ...(lines ? { onOutput: lines.write } : {}),
        ...(signal ? { signal: heardWhenLate(signal) } : {}),
      });
    } catch (err) {
      throw classify(err, {
        action,
        stackName: this.name,
        ...(planFile !== undefined ? { planFile } : {}),
        cancelled: signal?.aborted === true,
      });
    } finally {
      lines?.end();
    }
  }
}

/** What {@link AutomationStack} hands the SDK for one engine command. */
interface EngineRun {
  readonly onOutput?: (chunk: string) => void;
  readonly signal?: AbortSignal;
}

/** Validate raw stack outputs against the EnvironmentOutputs contract. */
export function parseOutputs(stackName: string, raw: Record<string, unknown>): EnvironmentOutputs {
  const parsed = environmentOutputsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PulumiError(
      `stack ${stackName} outputs do not satisfy EnvironmentOutputs: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? ""}`,
      { code: "STACK_OUTPUTS_INVALID", hint: "run `gantry stack up` for this environment" },
    );
  }
  return parsed.data;
}

/**
 * `signal`, except that an abort listener added after it fired runs at once. The SDK adds its
 * listener (the one that sends the engine SIGINT) only when it spawns the engine, after awaits of
 * its own (the inline program's server, the event log's): an interrupt that lands in between would
 * otherwise go unheeded and the update would run to its end.
 */
export function heardWhenLate(signal: AbortSignal): AbortSignal {
  return new Proxy(signal, {
    get(target, key) {
      if (key === "addEventListener") {
        return (...args: Parameters<AbortSignal["addEventListener"]>): void => {
          const [type, listener] = args;
          if (type !== "abort" || !target.aborted) {
            target.addEventListener(...args);
            return;
          }
          const event = new Event("abort");
          queueMicrotask(() => {
            if (typeof listener === "function") listener.call(target, event);
            else listener.handleEvent(event);
          });
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
