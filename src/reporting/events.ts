/**
 * What the run events and the preview carry: the views the hosts read, defined here so reporting
 * imports nothing from the producers (steps, app, orchestrator, pulumi). The producers' own types
 * (the deploy result and its record, the deploy preview, the Pulumi resource changes) are
 * structurally assignable to these views, so they are passed as they are.
 */
import { GantryError, oneLine } from "../errors.ts";

/** A deploy or rollback starting: what every host names it by. */
export interface RunStart {
  readonly kind: "deploy" | "rollback";
  readonly env: string;
  readonly tag: string;
  /** gantry's deployment id (the ledger's). */
  readonly deploymentId: string;
  readonly actor: string;
  /** Why this target (rollbacks). */
  readonly reason?: string | undefined;
  /** The account the environment lives on (`gantry:account`): the sandbox's are transient. */
  readonly account?: "aws" | "sandbox";
  /** `--emergency --reason`: why the promotion check and the smoke gate were skipped. */
  readonly emergency?: string | undefined;
}

/** One version of the service, as the final record names it. */
export interface RunVersion {
  readonly tag: string;
  readonly taskDefinitionArn: string;
  readonly digest?: string | undefined;
}

/** One service of a finished run: what it was given and what it runs at the end. */
export interface RunService {
  readonly name: string;
  readonly image: string;
  /** null: not part of the release. */
  readonly tag: string | null;
  readonly digest: string | null;
  readonly previous: RunVersion | null;
  readonly current: RunVersion | null;
  /** released | rolled_back | unchanged | unknown */
  readonly outcome: string;
}

/** One step of a finished run, as the hosts show it. */
export interface RunStep {
  readonly name: string;
  /** succeeded | failed | skipped | undone | undo_failed */
  readonly status: string;
  readonly durationMs: number;
  readonly detail?: string | undefined;
}

/** The fields of the final record (DESIGN.md "Contracts") the hosts read. */
export interface RunRecord {
  readonly id: string;
  readonly env: string;
  readonly tag: string;
  readonly imageDigest: string;
  readonly status: "succeeded" | "rolled_back" | "failed" | "aborted";
  readonly startedAt: string;
  readonly durationMs: number;
  readonly actor: string;
  readonly previous: RunVersion | null;
  readonly current: RunVersion | null;
  /** Every service (records before 0.11 have none). */
  readonly services?: readonly RunService[] | undefined;
  readonly snapshotId: string | null;
  readonly steps: readonly RunStep[];
  /** Where it came from, when known. */
  readonly trigger?: string | undefined;
  readonly commit?: string | undefined;
  readonly pr?: number | undefined;
  readonly runUrl?: string | undefined;
  readonly reason?: string | undefined;
}

/** An error as the hosts print it: one line, and the next command to run if it names one. */
export interface ErrorView {
  readonly message: string;
  readonly hint: string | undefined;
}

/** A deploy or rollback that returned a result (any status). */
export interface RunEnd {
  readonly record: RunRecord;
  readonly exitCode: number;
  /** Why it failed; only when the exit code is not 0. */
  readonly error?: ErrorView | undefined;
  /** Where the environment answers (the origin of the first service's health URL). */
  readonly environmentUrl?: string | undefined;
}

/** A deploy or rollback that threw instead of returning a result (a bug or an environment failure). */
export interface RunCrash {
  readonly error: ErrorView;
}

/** What a run returns, as its producer has it: the error is still the thrown value. */
export interface RunResult {
  readonly record: RunRecord;
  readonly exitCode: number;
  readonly error?: unknown;
}

/** The one-line message and hint of an error, for hosts. */
export function describeError(error: unknown): ErrorView {
  return { message: oneLine(error), hint: error instanceof GantryError ? error.hint : undefined };
}

/** The {@link RunEnd} of a run's result: its error described only when it failed. */
export function runEnd(result: RunResult, environmentUrl?: string): RunEnd {
  const failed = result.exitCode !== 0 && result.error !== undefined;
  return {
    record: result.record,
    exitCode: result.exitCode,
    ...(failed ? { error: describeError(result.error) } : {}),
    ...(environmentUrl ? { environmentUrl } : {}),
  };
}

/** The environment's URL for the hosts: the origin of the first service's health URL. */
export function environmentUrl(
  outputs: { readonly services: readonly { readonly healthUrl: string }[] } | undefined,
): string | undefined {
  const health = outputs?.services[0]?.healthUrl;
  if (!health) return undefined;
  try {
    return new URL(health).origin;
  } catch {
    return undefined;
  }
}

/**
 * Placeholder of a value Pulumi marks secret, as the diff model of src/pulumi writes it (secrets
 * never leave the adapter); the preview shows it bare.
 */
export const SECRET_VALUE = "[secret]";
/** Placeholder of a value not known before the update (an output of another resource), as src/pulumi writes it. */
export const UNKNOWN_VALUE = "[known after apply]";

/** One changed property of a resource in a preview. */
export interface PropertyChangeView {
  /** Pulumi property path, e.g. `props.desiredCount`. */
  readonly path: string;
  /** add | delete | update, with `-replace` when the change forces a replacement. */
  readonly kind: string;
  /** Absent when the property is added (or the provider did not say). */
  readonly old?: unknown;
  /** Absent when the property is deleted (or the provider did not say). */
  readonly new?: unknown;
}

/** One resource change of a preview. */
export interface ResourceChangeView {
  /** Pulumi's op: same, create, update, replace, delete, … */
  readonly op: string;
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly properties: readonly PropertyChangeView[];
  /** Properties that force the replacement (replace ops only). */
  readonly replaceReasons: readonly string[];
}

/** The preview of one deploy, as the markdown renders it. */
export interface PreviewView {
  readonly env: string;
  /** The tag previewed; null when none was given and nothing serves. */
  readonly tag: string | null;
  readonly tagSource: "given" | "serving" | null;
  readonly planFile: string | null;
  readonly plan: readonly { readonly step: string; readonly included: boolean; readonly why: string }[];
  readonly stack: { readonly changes: readonly ResourceChangeView[] };
  /** The first released service's image; null when its tag is not in the registry. */
  readonly image: { readonly digest: string } | null;
  readonly taskDefinitions: readonly {
    readonly service: string;
    /** The image as configured; absent in previews of older versions. */
    readonly imageName?: string;
    readonly from: {
      readonly tag: string;
      readonly taskDefinitionArn: string;
      readonly digest?: string | null;
    } | null;
    readonly to: {
      readonly tag: string;
      readonly digest?: string | null;
      readonly image: string | null;
    } | null;
  }[];
  readonly migrations: { readonly runs: boolean; readonly command: readonly string[] | null };
  readonly snapshot: { readonly taken: boolean; readonly retention: number };
  readonly warnings: readonly string[];
}
