/**
 * Requests made by this process: who, where, when, a new deployment id, what the release changes
 * (services and tags) and where it comes from (commit, pull request, trigger, reason).
 */
import { randomBytes } from "node:crypto";
import type { Runtime } from "../config/runtime.ts";
import { parseTag } from "../config/tag.ts";
import { UsageError } from "../errors.ts";
import type { ActionsContext } from "../github/context.ts";
import type { DeployRequest, DeploySource, ServiceTarget } from "../steps/context.ts";

/** A sortable, unique deployment id: UTC time plus randomness, e.g. 20261122T101500Z-3f9a1c. */
export function newDeploymentId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

/**
 * A request made by this process (deploy, rollback, preview, unlock): who and where from
 * `runtime`, started now, with every step wanted unless `fields` says otherwise.
 */
export function requestFor<T extends Pick<DeployRequest, "env" | "deploymentId">>(
  runtime: Runtime,
  fields: T,
) {
  const now: Omit<DeployRequest, "env" | "tag" | "deploymentId"> = {
    actor: runtime.actor,
    host: runtime.host,
    pid: runtime.pid,
    startedAt: new Date().toISOString(),
    skipSnapshot: false,
    skipMigrations: false,
  };
  return { ...now, ...fields };
}

/** What the command line asked a release to change (before it is checked against the config). */
export interface ReleaseSelection {
  /** `--tag`: every released service's tag unless `--image` gives it its own. */
  readonly tag?: string | undefined;
  /** `--image SERVICE=TAG`, repeatable. */
  readonly images?: readonly string[] | undefined;
  /** `--services a,b`: release only these (others untouched); each item may hold a comma list. */
  readonly services?: readonly string[] | undefined;
}

/**
 * The services a release changes and their tags, checked against the environment's services:
 * every name must be one, `--image` only for a released service, and each released service needs
 * a tag (`--tag`, or its own `--image`). Bad input is a usage error naming it.
 */
export function releaseTargets(
  services: readonly string[],
  selection: ReleaseSelection,
): { readonly tag: string; readonly targets: readonly ServiceTarget[] } {
  const known = (name: string, flag: string): string => {
    if (services.includes(name)) return name;
    throw new UsageError(
      `${flag}: "${name}" is not a service of this environment`,
      `services: ${services.join(", ")}`,
    );
  };
  const picked = selection.services
    ?.flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const released = picked?.length ? new Set(picked.map((s) => known(s, "--services"))) : new Set(services);
  const own = new Map<string, string>();
  for (const item of selection.images ?? []) {
    const at = item.indexOf("=");
    if (at <= 0) throw new UsageError(`--image "${item}": expected SERVICE=TAG`, "e.g. --image api=v1.2.4");
    const name = known(item.slice(0, at), "--image");
    if (!released.has(name)) {
      throw new UsageError(
        `--image ${name}=…: ${name} is not released (--services)`,
        `add it to --services or drop --image ${item}`,
      );
    }
    if (own.has(name)) throw new UsageError(`--image ${name} is given twice`, "give one tag per service");
    own.set(name, parseTag(item.slice(at + 1)));
  }
  const tag = selection.tag === undefined ? undefined : parseTag(selection.tag);
  if (tag === undefined && own.size === 0) {
    throw new UsageError(
      "--tag is required",
      "give --tag TAG, or --image SERVICE=TAG for each released service",
    );
  }
  const targets = services
    .filter((name) => released.has(name))
    .map((name) => {
      const t = own.get(name) ?? tag;
      if (t === undefined) {
        throw new UsageError(`no tag for ${name}`, `give --tag TAG, or --image ${name}=TAG`);
      }
      return { name, tag: t };
    });
  return { tag: tag ?? targets[0]?.tag ?? "", targets };
}

/** Where a deploy comes from: the Actions run's event, commit and pull request, or the flags given. */
export function deploySource(
  actions: ActionsContext | undefined,
  flags: {
    readonly commit?: string | undefined;
    readonly pr?: number | undefined;
    readonly reason?: string | undefined;
  },
): DeploySource {
  if (flags.commit !== undefined && !/^[0-9a-f]{7,64}$/i.test(flags.commit)) {
    throw new UsageError(
      `--commit "${flags.commit}" is not a commit SHA`,
      "give 7 to 64 hex digits, e.g. --commit $(git rev-parse HEAD)",
    );
  }
  if (flags.pr !== undefined && !(Number.isSafeInteger(flags.pr) && flags.pr > 0)) {
    throw new UsageError(`--pr ${String(flags.pr)} is not a pull request number`, "e.g. --pr 42");
  }
  const reason = flags.reason?.trim();
  if (reason !== undefined && (reason === "" || reason.length > 500)) {
    throw new UsageError(
      "--reason must be 1 to 500 characters",
      'e.g. --reason "hotfix for the login error"',
    );
  }
  const commit = flags.commit ?? actions?.sha;
  const pr = flags.pr ?? actions?.pullRequest;
  return {
    trigger: actions ? (TRIGGERS[actions.eventName ?? ""] ?? actions.eventName ?? "actions") : "terminal",
    ...(commit ? { commit } : {}),
    ...(actions?.commitMessage ? { commitMessage: actions.commitMessage } : {}),
    ...(pr !== undefined ? { pr } : {}),
    ...(actions?.runUrl ? { runUrl: actions.runUrl } : {}),
    ...(reason ? { reason } : {}),
  };
}

/** GitHub event names as the record's trigger. */
const TRIGGERS: Readonly<Record<string, string>> = {
  workflow_dispatch: "dispatch",
  repository_dispatch: "dispatch",
};

/** `--emergency --reason TEXT` as the request records it; `--emergency` alone is a usage error. */
export function emergencyOf(options: {
  readonly emergency?: boolean | undefined;
  readonly reason?: string | undefined;
}): { readonly reason: string } | undefined {
  if (options.emergency !== true) return undefined;
  const reason = options.reason?.trim();
  if (!reason) {
    throw new UsageError(
      "--emergency needs --reason",
      'say why, e.g. --reason "hotfix for the checkout outage"',
    );
  }
  return { reason };
}
