/**
 * StackPort: what the orchestrator needs from an environment's Pulumi stack, and the types of its
 * contract (options, results, the reviewer's view of a resource change). Its adapter is
 * automation.ts; failures reach callers as PulumiErrors classified by classify.ts.
 */
import type { OpType } from "@pulumi/pulumi/automation/index.js";
import type { EnvironmentOutputs } from "../stacks/outputs.ts";

/** How one property differs, in Pulumi's terms (`-replace`: the change forces a replacement). */
export type PropertyDiffKind =
  "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace";

/**
 * One changed property of a resource: its path, old and new value. Values are safe to show a
 * reviewer: secrets read `[secret]`, values known only after the update `[known after apply]`
 * (diff.ts `SECRET_VALUE`, `UNKNOWN_VALUE`).
 */
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

/** Options of every engine run (preview, up, destroy). */
export interface EngineRunOptions {
  /** Receives the engine's output, one non-blank line per call, as `pulumi` prints it. */
  readonly onOutput?: (line: string) => void;
  /**
   * Aborting it sends one SIGINT to the engine, which then stops cleanly (never a kill); the run
   * then fails with `STACK_<ACTION>_CANCELLED`, never as someone else's lock or pending operations.
   */
  readonly signal?: AbortSignal;
}

/** Options of {@link StackPort.preview}. */
export interface PreviewOptions extends EngineRunOptions {
  /** Save the update plan here (`pulumi preview --save-plan`); `up({ plan })` then applies exactly it. */
  readonly savePlan?: string;
}

/** Options of {@link StackPort.up}. */
export interface UpOptions extends EngineRunOptions {
  /**
   * A plan saved by `preview({ savePlan })`: the update refuses (PLAN_MISMATCH) any operation or
   * input the plan does not allow (`pulumi up --plan`).
   */
  readonly plan?: string;
  /**
   * Called when the engine decides what it does to the environment's database instance (its step
   * op: `same`, `update`, `replace`, `create`, …), before it does it; not called when the program
   * has no database resource.
   */
  readonly onDatabaseStep?: (op: string) => void;
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

/** Result of an update. */
export interface UpResult {
  readonly changeSummary: Readonly<Record<string, number>>;
  readonly outputs: EnvironmentOutputs;
}

/** What the orchestrator needs from an environment's stack. */
export interface StackPort {
  readonly name: string;
  preview(options?: PreviewOptions): Promise<PreviewResult>;
  up(options?: UpOptions): Promise<UpResult>;
  /** The stack's outputs, validated against EnvironmentOutputs (STACK_NOT_FOUND before the first up). */
  outputs(): Promise<EnvironmentOutputs>;
  destroy(options?: EngineRunOptions): Promise<void>;
  /** Clear the lock an update left when its process died (`pulumi cancel`). */
  cancel(): Promise<void>;
}
