/**
 * StackPort and its Automation API adapter: create/select an environment's stack with an inline
 * program, preview with a structured diff, up, outputs (validated against EnvironmentOutputs),
 * destroy, refresh and cancel. Pulumi failures are classified here into typed errors.
 */
import {
  CommandError,
  ConcurrentUpdateError,
  type EngineEvent,
  LocalWorkspace,
  type OpType,
  type PulumiFn,
  type Stack,
  StackNotFoundError,
} from "@pulumi/pulumi/automation/index.js";
import { mkdir } from "node:fs/promises";
import { oneLine, PulumiError } from "../errors.ts";
import { environmentOutputsSchema, type EnvironmentOutputs } from "../stacks/outputs.ts";
import type { PulumiCli } from "./cli.ts";

/** One resource change the engine plans or makes. */
export interface ResourceChange {
  readonly op: OpType;
  readonly urn: string;
  readonly type: string;
  /** Top-level properties that differ. */
  readonly diffs: readonly string[];
}

/** Result of a preview. */
export interface PreviewResult {
  readonly changeSummary: Readonly<Record<string, number>>;
  readonly changes: readonly ResourceChange[];
  /** The engine's rendered diff (`pulumi preview --diff`). */
  readonly diffText: string;
}

/** Result of an update. */
export interface UpResult {
  readonly changeSummary: Readonly<Record<string, number>>;
  readonly outputs: EnvironmentOutputs;
}

/** What the orchestrator needs from an environment's stack. */
export interface StackPort {
  readonly name: string;
  preview(onOutput?: (line: string) => void): Promise<PreviewResult>;
  /** `signal` sends one SIGINT to the running update (Pulumi then stops cleanly); never a kill. */
  up(onOutput?: (line: string) => void, signal?: AbortSignal): Promise<UpResult>;
  outputs(): Promise<EnvironmentOutputs>;
  destroy(onOutput?: (line: string) => void): Promise<void>;
  refresh(): Promise<void>;
  cancel(): Promise<void>;
}

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

function classify(err: unknown, action: string, stackName: string): PulumiError {
  if (err instanceof PulumiError) return err;
  if (err instanceof ConcurrentUpdateError) {
    return new PulumiError(`stack ${stackName} is locked by another update`, {
      code: "STACK_LOCKED",
      hint: `wait for it to finish, or if it was interrupted: pulumi cancel -s ${stackName}`,
      cause: err,
    });
  }
  if (err instanceof StackNotFoundError) {
    return new PulumiError(`stack ${stackName} does not exist`, {
      code: "STACK_NOT_FOUND",
      cause: err,
      source: "user",
    });
  }
  const text = err instanceof CommandError ? err.toString() : oneLine(err);
  if (/PULUMI_ACCESS_TOKEN must be set|not logged in|pulumi login/i.test(text)) {
    return new PulumiError(`no Pulumi backend is configured for stack ${stackName}`, {
      code: "PULUMI_NOT_LOGGED_IN",
      source: "user",
      hint: "pulumi login <your backend> (e.g. s3://bucket, file://path), or set PULUMI_BACKEND_URL; gantry never picks Pulumi Cloud for you",
      cause: err,
    });
  }
  if (/pending operations|interrupted/i.test(text)) {
    return new PulumiError(`stack ${stackName} has pending operations from an interrupted update`, {
      code: "STACK_PENDING_OPERATIONS",
      hint: `pulumi refresh --clear-pending-creates -s ${stackName}`,
      cause: err,
    });
  }
  const firstError = /error: (.+)/.exec(text)?.[1] ?? oneLine(err);
  return new PulumiError(`pulumi ${action} of stack ${stackName} failed: ${firstError.slice(0, 300)}`, {
    code: `STACK_${action.toUpperCase()}_FAILED`,
    hint: `rerun with --verbose for the engine log`,
    cause: err,
  });
}

function collectChange(changes: ResourceChange[], event: EngineEvent): void {
  const meta = event.resourcePreEvent?.metadata;
  // The stack itself and provider instances are plumbing, not resources a reviewer cares about.
  if (!meta || meta.type === "pulumi:pulumi:Stack" || meta.type.startsWith("pulumi:providers:")) return;
  const diffs = meta.diffs?.length ? meta.diffs : changedPaths(meta.old?.inputs, meta.new?.inputs);
  changes.push({ op: meta.op, urn: meta.urn, type: meta.type, diffs: meta.op === "same" ? [] : diffs });
}

/**
 * Dotted paths of the leaves that differ between two input objects (up to `depth` levels), for
 * providers that report no property diff of their own (dynamic providers).
 */
export function changedPaths(a: unknown, b: unknown, depth = 4, prefix = ""): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (depth > 0 && isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], depth - 1, prefix ? `${prefix}.${k}` : k));
  }
  if (a === undefined && b === undefined) return [];
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || "(root)"];
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
      throw classify(err, "select", options.stackName);
    }
  }

  async preview(onOutput?: (line: string) => void): Promise<PreviewResult> {
    const changes: ResourceChange[] = [];
    try {
      const res = await this.stack.preview({
        diff: true,
        onOutput,
        onEvent: (e) => {
          collectChange(changes, e);
        },
      });
      return { changeSummary: res.changeSummary, changes, diffText: res.stdout };
    } catch (err) {
      throw classify(err, "preview", this.name);
    }
  }

  async up(onOutput?: (line: string) => void, signal?: AbortSignal): Promise<UpResult> {
    try {
      const res = await this.stack.up({ onOutput, ...(signal ? { signal } : {}) });
      return {
        changeSummary: res.summary.resourceChanges ?? {},
        outputs: parseOutputs(
          this.name,
          Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value as unknown])),
        ),
      };
    } catch (err) {
      throw classify(err, "up", this.name);
    }
  }

  async outputs(): Promise<EnvironmentOutputs> {
    try {
      const out = await this.stack.outputs();
      return parseOutputs(
        this.name,
        Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.value as unknown])),
      );
    } catch (err) {
      throw classify(err, "outputs", this.name);
    }
  }

  async destroy(onOutput?: (line: string) => void): Promise<void> {
    try {
      await this.stack.destroy({ onOutput });
    } catch (err) {
      throw classify(err, "destroy", this.name);
    }
  }

  async refresh(): Promise<void> {
    try {
      await this.stack.refresh();
    } catch (err) {
      throw classify(err, "refresh", this.name);
    }
  }

  async cancel(): Promise<void> {
    try {
      await this.stack.cancel();
    } catch (err) {
      throw classify(err, "cancel", this.name);
    }
  }
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
