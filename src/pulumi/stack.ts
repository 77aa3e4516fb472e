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
import { resolve } from "node:path";
import { oneLine, PulumiError } from "../errors.ts";
import { environmentOutputsSchema, type EnvironmentOutputs } from "../stacks/outputs.ts";
import type { PulumiCli } from "./cli.ts";

/** How one property differs, in Pulumi's terms (`-replace`: the change forces a replacement). */
export type PropertyDiffKind =
  "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

/** Placeholder of a value Pulumi marks secret: secrets never leave the adapter. */
export const SECRET_VALUE = "[secret]";
/** Placeholder of a value not known before the update (an output of another resource). */
export const UNKNOWN_VALUE = "[known after apply]";

/** One changed property of a resource: its path, old and new value (secrets as {@link SECRET_VALUE}). */
export interface PropertyChange {
  /** Pulumi property path, e.g. `props.desiredCount`, `tags["Name"]`, `ingress[0].cidrBlocks`. */
  readonly path: string;
  readonly kind: PropertyDiffKind;
  /** Absent when the property is added (or the provider did not say). */
  readonly old?: unknown;
  /** Absent when the property is deleted (or the provider did not say). */
  readonly new?: unknown;
}

/** One resource change the engine plans or makes. */
export interface ResourceChange {
  readonly op: OpType;
  readonly urn: string;
  readonly type: string;
  /** The resource's logical name (the last URN segment). */
  readonly name: string;
  /** Top-level properties that differ. */
  readonly diffs: readonly string[];
  /** Property-level diff: every changed leaf (update/replace), every input (create) or output (delete). */
  readonly properties: readonly PropertyChange[];
  /** Properties that force the replacement (replace ops only). */
  readonly replaceReasons: readonly string[];
}

/** Result of a preview. */
export interface PreviewResult {
  readonly changeSummary: Readonly<Record<string, number>>;
  readonly changes: readonly ResourceChange[];
  /** The engine's rendered diff (`pulumi preview --diff`). */
  readonly diffText: string;
  /** Where the update plan was saved (`savePlan`), if asked. */
  readonly planFile?: string;
}

/** Options of {@link StackPort.preview}. */
export interface PreviewOptions {
  /** Save the update plan here (`pulumi preview --save-plan`); `up({ plan })` then applies exactly it. */
  readonly savePlan?: string;
}

/** Options of {@link StackPort.up}. */
export interface UpOptions {
  /**
   * A plan saved by `preview({ savePlan })`: the update refuses (PLAN_MISMATCH) any operation or
   * input the plan does not allow (`pulumi up --plan`).
   */
  readonly plan?: string;
}

/** Result of an update. */
export interface UpResult {
  readonly changeSummary: Readonly<Record<string, number>>;
  readonly outputs: EnvironmentOutputs;
}

/** What the orchestrator needs from an environment's stack. */
export interface StackPort {
  readonly name: string;
  preview(onOutput?: (line: string) => void, options?: PreviewOptions): Promise<PreviewResult>;
  /** `signal` sends one SIGINT to the running update (Pulumi then stops cleanly); never a kill. */
  up(onOutput?: (line: string) => void, signal?: AbortSignal, options?: UpOptions): Promise<UpResult>;
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

/** Engine messages of an update that deviates from its plan (pkg/resource/deploy step_generator.go, plan.go). */
const PLAN_VIOLATION =
  /violates plan|is not allowed by the plan|Expected a new resource plan|no plan for resource/;

/**
 * The first plan violation in the engine output as one reviewer-readable line: the resource's
 * name and which properties or options differ (never their values, which may be secret).
 */
export function planViolation(text: string): string | undefined {
  const line = text.split("\n").find((l) => PLAN_VIOLATION.test(l));
  if (line === undefined) return undefined;
  const urn = /urn:pulumi:\S+/.exec(line)?.[0];
  const name = urn ? urnName(urn) : undefined;
  const props = /properties changed: (.*)$/.exec(line)?.[1];
  const why = props
    ? `properties changed: ${[...props.matchAll(/(?:^|, )[~+-]=?([^[\s,]+)\[/g)].map((m) => m[1]).join(", ")}`
    : (/(?:violates plan: |error: )(.*)$/.exec(line)?.[1] ?? line).replace(/urn:pulumi:\S+/g, "").trim();
  return `${name ?? "a resource"}: ${why.slice(0, 200)}`;
}

function classify(err: unknown, action: string, stackName: string, planFile?: string): PulumiError {
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
  const violation = planFile !== undefined ? planViolation(text) : undefined;
  if (violation !== undefined) {
    return new PulumiError(
      `the saved plan ${planFile ?? ""} no longer matches stack ${stackName} (the program, its config or the stack changed since it was saved): ${violation}`,
      {
        code: "PLAN_MISMATCH",
        source: "user",
        hint: `re-run gantry preview --env ${stackName} --save-plan ${planFile ?? "<file>"}, review it, and deploy with the new plan`,
        cause: err,
      },
    );
  }
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

/** The logical name of a resource: the last segment of its URN. */
export function urnName(urn: string): string {
  return urn.slice(urn.lastIndexOf("::") + 2);
}

/** Pulumi's signature key/value of a secret in serialized property values (sdk/go/common/resource/sig). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";
/** Input of every dynamic resource holding its provider's serialized source. */
const DYNAMIC_PROVIDER_KEY = "__provider";
/** Pulumi's serialized unknown (computed) value. */
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A property value safe to show a reviewer: secrets (Pulumi's `[secret]` and signature-wrapped
 * values, whatever they hold) become {@link SECRET_VALUE}, unknowns {@link UNKNOWN_VALUE}; a
 * dynamic provider's serialized source (`__provider`, plumbing its own diff ignores) is left out.
 */
export function reviewValue(value: unknown): unknown {
  if (value === UNKNOWN_SENTINEL) return UNKNOWN_VALUE;
  if (typeof value === "string") return value.includes(SECRET_VALUE) ? SECRET_VALUE : value;
  if (Array.isArray(value)) return value.map((v) => reviewValue(v));
  if (isRecord(value)) {
    if (value[SECRET_SIG] === SECRET_SIG_VALUE) return SECRET_VALUE;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== DYNAMIC_PROVIDER_KEY)
        .map(([k, v]) => [k, reviewValue(v)]),
    );
  }
  return value;
}

/** Split a Pulumi property path (`a.b[0]["c.d"]`) into its keys and indices. */
export function parsePropertyPath(path: string): (string | number)[] {
  const parts: (string | number)[] = [];
  const re = /\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]|\.?([^.[\]]+)/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) parts.push(Number(m[1]));
    else if (m[2] !== undefined) parts.push(m[2].replace(/\\(.)/g, "$1"));
    else if (m[3] !== undefined) parts.push(m[3]);
  }
  return parts;
}

/** The value at a Pulumi property path, or undefined. */
export function valueAt(root: unknown, path: string): unknown {
  if (path === "(root)") return root;
  let v: unknown = root;
  for (const part of parsePropertyPath(path)) {
    if (typeof part === "number" ? Array.isArray(v) : isRecord(v)) v = (v as Record<string, unknown>)[part];
    else return undefined;
  }
  return v;
}

/** `prefix` extended by `key` in Pulumi's path syntax (`a.b`, `a["k.8s/x"]`, `a[0]`). */
function joinPath(prefix: string, key: string | number): string {
  if (typeof key === "number") return `${prefix}[${String(key)}]`;
  if (/^[A-Za-z_$][\w$:-]*$/.test(key)) return prefix ? `${prefix}.${key}` : key;
  return `${prefix}[${JSON.stringify(key)}]`;
}

/**
 * Paths of the leaves that differ between two input objects (up to `depth` levels; arrays are
 * leaves), for providers that report no property diff of their own (dynamic providers).
 */
export function changedPaths(a: unknown, b: unknown, depth = 4, prefix = ""): string[] {
  if (depth > 0 && isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedPaths(a[k], b[k], depth - 1, joinPath(prefix, k)));
  }
  if (a === undefined && b === undefined) return [];
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || "(root)"];
}

/** Paths of every leaf of a created or deleted resource's properties (up to `depth` levels). */
export function leafPaths(value: unknown, depth = 4, prefix = ""): string[] {
  if (depth > 0 && isRecord(value)) {
    return Object.keys(value)
      .sort()
      .flatMap((k) => leafPaths(value[k], depth - 1, joinPath(prefix, k)));
  }
  return value === undefined ? [] : [prefix || "(root)"];
}

const DIFF_KINDS: ReadonlySet<string> = new Set<PropertyDiffKind>([
  "add",
  "add-replace",
  "delete",
  "delete-replace",
  "update",
  "update-replace",
]);

/**
 * Ops that are one half of a replacement; the `replace` event itself carries the resource's diff,
 * so a reviewer sees each replaced resource once.
 */
const REPLACEMENT_PARTS: ReadonlySet<string> = new Set([
  "create-replacement",
  "delete-replaced",
  "discard-replaced",
  "import-replacement",
]);

/**
 * The reviewer's view of one engine event: the resource, its op, and its property-level diff (the
 * provider's detailed diff when it gives one, else the leaves that differ between old and new
 * inputs), values made safe by {@link reviewValue}. Undefined for events that are not a resource
 * step a reviewer cares about (the stack itself, provider instances, halves of a replacement).
 */
export function resourceChangeOf(event: EngineEvent): ResourceChange | undefined {
  const meta = event.resourcePreEvent?.metadata;
  if (!meta || meta.type === "pulumi:pulumi:Stack" || meta.type.startsWith("pulumi:providers:"))
    return undefined;
  if (REPLACEMENT_PARTS.has(meta.op)) return undefined;
  const oldInputs = reviewValue(meta.old?.inputs);
  const oldOutputs = reviewValue(meta.old?.outputs);
  const newInputs = reviewValue(meta.new?.inputs);
  const replaceReasons = [...(meta.keys ?? [])].sort();
  const base = { op: meta.op, urn: meta.urn, type: meta.type, name: urnName(meta.urn), replaceReasons };
  if (meta.op === "same" || meta.op === "read" || meta.op === "refresh") {
    return { ...base, diffs: [], properties: [], replaceReasons: [] };
  }
  const side = (v: unknown, key: "old" | "new"): { old?: unknown; new?: unknown } =>
    v === undefined ? {} : { [key]: v };
  let properties: PropertyChange[];
  if (meta.op === "create" || meta.op === "import") {
    properties = leafPaths(newInputs).map((path) => ({
      path,
      kind: "add",
      ...side(valueAt(newInputs, path), "new"),
    }));
  } else if (meta.op === "delete") {
    const gone = meta.old?.outputs && Object.keys(meta.old.outputs).length ? oldOutputs : oldInputs;
    properties = leafPaths(gone).map((path) => ({
      path,
      kind: "delete",
      ...side(valueAt(gone, path), "old"),
    }));
  } else if (meta.detailedDiff && Object.keys(meta.detailedDiff).length > 0) {
    properties = Object.entries(meta.detailedDiff)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([path, d]) => ({
        path,
        kind: DIFF_KINDS.has(d.diffKind) ? (d.diffKind as PropertyDiffKind) : "update",
        ...side(valueAt(d.inputDiff ? oldInputs : oldOutputs, path), "old"),
        ...side(valueAt(newInputs, path), "new"),
      }));
  } else {
    const replaced = new Set(meta.keys ?? []);
    properties = changedPaths(oldInputs, newInputs).map((path) => {
      const before = valueAt(oldInputs, path);
      const after = valueAt(newInputs, path);
      const kind = before === undefined ? "add" : after === undefined ? "delete" : "update";
      const top = parsePropertyPath(path)[0];
      return {
        path,
        kind: typeof top === "string" && replaced.has(top) ? (`${kind}-replace` as const) : kind,
        ...side(before, "old"),
        ...side(after, "new"),
      };
    });
    // Providers that report changed keys but no values (e.g. a changed secret) still name them.
    if (properties.length === 0 && meta.diffs?.length) {
      properties = [...meta.diffs].sort().map((path) => ({ path, kind: "update" }));
    }
  }
  const diffs = meta.diffs?.length
    ? [...meta.diffs]
    : [...new Set(properties.map((p) => String(parsePropertyPath(p.path)[0] ?? p.path)))];
  return { ...base, diffs, properties };
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

  async preview(onOutput?: (line: string) => void, options: PreviewOptions = {}): Promise<PreviewResult> {
    const changes: ResourceChange[] = [];
    // Pulumi resolves relative paths against the workspace folder; the caller meant its own.
    const planFile = options.savePlan === undefined ? undefined : resolve(options.savePlan);
    try {
      const res = await this.stack.preview({
        diff: true,
        onOutput,
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
    } catch (err) {
      throw classify(err, "preview", this.name);
    }
  }

  async up(
    onOutput?: (line: string) => void,
    signal?: AbortSignal,
    options: UpOptions = {},
  ): Promise<UpResult> {
    const planFile = options.plan === undefined ? undefined : resolve(options.plan);
    try {
      // `--plan` needs no PULUMI_EXPERIMENTAL (v3.259: the flag is only hidden without it).
      const res = await this.stack.up({
        onOutput,
        ...(signal ? { signal } : {}),
        ...(planFile !== undefined ? { plan: planFile } : {}),
      });
      return {
        changeSummary: res.summary.resourceChanges ?? {},
        outputs: parseOutputs(
          this.name,
          Object.fromEntries(Object.entries(res.outputs).map(([k, v]) => [k, v.value as unknown])),
        ),
      };
    } catch (err) {
      throw classify(err, "up", this.name, planFile);
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
