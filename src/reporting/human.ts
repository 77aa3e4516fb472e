/**
 * Results as a person reads them on a terminal or in a CI log: a deploy ends with a short summary,
 * `status` and `history` are aligned tables, anything else is readable YAML. JSON is only for
 * `--json` (src/reporting/reporter.ts JsonReporter). Pure functions over the views of
 * src/reporting/events.ts, so every host shows the same words.
 */
import { createRequire } from "node:module";
import type { ErrorView, RunRecord, RunService } from "./events.ts";

/**
 * A duration as people read it, the same in every host (terminal, job summary, deployment
 * status, Slack): `0.4 s` and `59.9 s` under a minute, then `1 min 01 s`, `60 min 00 s`.
 */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${String(Math.floor(s / 60))} min ${String(s % 60).padStart(2, "0")} s`;
}

/** One service as `gantry status` shows it. */
export interface ServiceStatusView {
  readonly service: string;
  readonly tag: string | null;
  readonly image: string | null;
  readonly taskDefinition: string | null;
  /** `STATUS ROLLOUT_STATE id` per ECS deployment. */
  readonly deployments: readonly string[];
  readonly health: string;
}

/** An environment as `gantry status` shows it. */
export interface StatusView {
  readonly env: string;
  readonly stack: string;
  readonly services: readonly ServiceStatusView[];
  readonly lastDeployment:
    | ({
        readonly id: string;
        readonly tag: string;
        readonly status: string;
        readonly startedAt: string;
        readonly actor?: string;
      } & Pick<RunRecord, "trigger" | "commit" | "pr" | "reason">)
    | null;
  readonly lock: {
    readonly deploymentId: string;
    readonly actor: string;
    readonly host: string;
    readonly pid: number;
    readonly startedAt: string;
  } | null;
}

/** A result that has a human rendering of its own; any other result is shown as YAML. */
export type ResultView =
  | {
      readonly kind: "run";
      readonly run: "deploy" | "rollback";
      /** The exit code it ended with (DESIGN.md "Contracts"): the summary says what it means. */
      readonly exitCode: number;
      readonly record: RunRecord;
      readonly error?: ErrorView | undefined;
    }
  | { readonly kind: "status"; readonly status: StatusView }
  | {
      readonly kind: "status-all";
      readonly environments: readonly (StatusView | { readonly env: string; readonly error: string })[];
    }
  | { readonly kind: "history"; readonly records: readonly RunRecord[] };

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/**
 * `sha256:0123456789ab` — enough of a digest to tell versions apart; of an image reference
 * (`repo@sha256:…`), its digest's.
 */
export function shortDigest(digestOrImage: string | null | undefined): string {
  if (!digestOrImage) return "-";
  const digest = digestOrImage.slice(digestOrImage.indexOf("@") + 1);
  const [algo, hex] = digest.includes(":") ? digest.split(":", 2) : ["", digest];
  return `${algo ? `${algo}:` : ""}${(hex ?? "").slice(0, 12)}`;
}

/** What each exit code (DESIGN.md "Contracts") means to the person reading the summary. */
const OUTCOME: Readonly<Record<number, string>> = {
  0: "deployed and verified healthy",
  1: "failed before any change; nothing changed",
  3: "failed; rolled back and the previous version verified healthy",
  4: "failed and the rollback did NOT verify — a human is needed",
  5: "refused: another deploy holds the environment's lock; nothing changed",
  130: "interrupted; cancelled cleanly",
};

/** The summary a deploy or rollback ends with: what changed, how long each step took, what to do next. */
export function renderRun(view: Extract<ResultView, { kind: "run" }>): string {
  const { record: r, error, exitCode } = view;
  const lines: string[] = [];
  const outcome = OUTCOME[exitCode] ?? r.status;
  lines.push(`${view.run} ${r.tag} to ${r.env}: ${r.status} in ${formatDuration(r.durationMs)} — ${outcome}`);
  const image = `${r.tag} (${shortDigest(r.imageDigest)})`;
  if ((r.services?.length ?? 0) > 1) {
    // Several services: one line each (serviceLines) instead of the one version line.
  } else if (!r.previous || exitCode === 1 || exitCode === 5) {
    // Nothing was released (refused, failed or interrupted before the release).
    lines.push(`  version  ${image} not released; the environment is unchanged`);
  } else {
    const now = r.current?.tag ?? "(unknown)";
    const state =
      exitCode === 0
        ? `now runs ${now}`
        : exitCode === 4
          ? `ECS reports ${now}, not verified`
          : `back on ${now}`;
    lines.push(`  version  ${r.previous.tag} → ${image}; ${state}`);
  }
  lines.push(...serviceLines(r.services, exitCode));
  const source = sourceText(r);
  if (source) lines.push(`  source   ${source}`);
  if (r.steps.length) {
    lines.push(
      `  steps    ${r.steps
        .map(
          (s) => `${s.name} ${s.status === "succeeded" ? "" : `${s.status} `}${formatDuration(s.durationMs)}`,
        )
        .join(" · ")}`,
    );
  }
  if (r.snapshotId) lines.push(`  snapshot ${r.snapshotId}`);
  lines.push(`  id       ${r.id} by ${r.actor}`);
  if (exitCode !== 0) {
    const failed = r.steps.find((s) => s.status === "failed" || s.status === "undo_failed");
    const why = error?.message ?? failed?.detail;
    if (why) lines.push(`  why      ${why}`);
    lines.push(`  next     ${error?.hint ?? `gantry status --env ${r.env}; gantry history --env ${r.env}`}`);
  }
  return lines.join("\n") + "\n";
}

/** What each service's outcome reads as in the summary. */
const SERVICE_OUTCOME: Readonly<Record<string, string>> = {
  released: "now runs",
  rolled_back: "rolled back; runs",
  unchanged: "unchanged; runs",
  unknown: "ECS reports",
};

/** One line per service of a run with several services (none otherwise: the version line says it). */
function serviceLines(services: readonly RunService[] | undefined, exitCode: number): string[] {
  if (!services || services.length < 2) return [];
  const width = Math.max(...services.map((s) => s.name.length));
  return services.map((s, i) => {
    const label = i === 0 ? "services" : "";
    const now = s.current ? `${s.current.tag} (${shortDigest(s.current.digest)})` : "(unknown)";
    const given = s.tag === null ? "" : `${s.previous?.tag ?? "?"} → ${s.tag} (${shortDigest(s.digest)}); `;
    const what =
      s.tag !== null && exitCode === 1 && s.outcome === "unchanged"
        ? `not released; runs ${now}`
        : `${SERVICE_OUTCOME[s.outcome] ?? s.outcome} ${now}`;
    return `  ${label.padEnd(8)} ${s.name.padEnd(width)}  ${given}${what}`;
  });
}

/** Where a run came from, in one line (empty when nothing is known beyond a terminal). */
export function sourceText(r: Pick<RunRecord, "trigger" | "commit" | "pr" | "reason">): string {
  const parts = [
    r.trigger && r.trigger !== "terminal" ? r.trigger : "",
    r.commit ? r.commit.slice(0, 7) : "",
    r.pr !== undefined ? `PR #${String(r.pr)}` : "",
    r.reason ? `"${r.reason.length > 60 ? `${r.reason.slice(0, 59)}…` : r.reason}"` : "",
  ];
  return parts.filter((p) => p !== "").join(" ");
}

/** An image reference without its digest or tag, and without ECR's account host: `app`, `ghcr.io/org/api`. */
export function imageName(reference: string | null): string {
  if (!reference) return "-";
  const name = reference.replace(/@.*$/, "").replace(/:[^/:]+$/, "");
  return name.replace(/^\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\//, "");
}

/** `gantry status` as a table per service, then the last deployment and the lock. */
export function renderStatus(s: StatusView): string {
  const out: string[] = [`${s.env}: stack ${s.stack}`];
  if (s.services.length) {
    out.push(
      table(
        ["SERVICE", "TAG", "IMAGE", "DIGEST", "DEPLOYMENTS", "HEALTH"],
        s.services.map((v) => [
          v.service,
          v.tag ?? "-",
          imageName(v.image),
          shortDigest(v.image),
          v.deployments.map((d) => d.split(" ").slice(0, 2).join(" ")).join(", ") || "-",
          v.health,
        ]),
      ).trimEnd(),
    );
  }
  const last = s.lastDeployment;
  out.push(
    last
      ? `last deploy: ${last.tag} ${last.status} at ${last.startedAt} (${last.id}${sourceText(last) ? `; ${sourceText(last)}` : ""})`
      : "last deploy: none",
  );
  const lock = s.lock;
  out.push(
    lock
      ? `lock: held by ${lock.actor} on ${lock.host} (pid ${String(lock.pid)}) since ${lock.startedAt}, deployment ${lock.deploymentId}`
      : "lock: free",
  );
  return out.join("\n") + "\n";
}

/** The rollout of a service in one word: its deployments' rollout states, newest first. */
function rolloutCell(deployments: readonly string[]): string {
  return deployments.map((d) => d.split(" ")[1] ?? "?").join(", ") || "-";
}

/**
 * `gantry status` without `--env`: one row per environment × service — "which version is where" —
 * with when and by whom the environment was last deployed and who holds its lock.
 */
export function renderStatusAll(
  environments: readonly (StatusView | { readonly env: string; readonly error: string })[],
): string {
  const rows: string[][] = [];
  const errors: string[] = [];
  for (const e of environments) {
    if ("error" in e) {
      errors.push(`${e.env}: could not be read: ${e.error}`);
      continue;
    }
    const last = e.lastDeployment;
    const deployed = last ? `${last.startedAt.replace(/\.\d+Z$/, "Z")} ${last.status}` : "-";
    const by = last?.actor ?? "-";
    const lock = e.lock ? `${e.lock.actor} (${e.lock.deploymentId})` : "free";
    if (!e.services.length) rows.push([e.env, "-", "-", "-", `stack ${e.stack}`, "-", deployed, by, lock]);
    for (const v of e.services) {
      rows.push([
        e.env,
        v.service,
        v.tag ?? "-",
        shortDigest(v.image),
        rolloutCell(v.deployments),
        v.health,
        deployed,
        by,
        lock,
      ]);
    }
  }
  const out = rows.length
    ? table(["ENV", "SERVICE", "TAG", "DIGEST", "ROLLOUT", "HEALTH", "DEPLOYED", "BY", "LOCK"], rows)
    : "no environments (no Pulumi.<env>.yaml in the config folder)\n";
  return out + errors.map((line) => `${line}\n`).join("");
}

/** The services a run released, with their tag when it is not the run's (`api web=v2`); `-` for old records. */
function servicesCell(services: readonly RunService[] | undefined): string {
  const released = services?.filter((s) => s.tag !== null) ?? [];
  if (!released.length) return "-";
  const common = released[0]?.tag;
  return released.map((s) => (s.tag === common ? s.name : `${s.name}=${s.tag ?? ""}`)).join(" ");
}

/** `gantry history` as a table, newest first. */
export function renderHistory(records: readonly RunRecord[]): string {
  if (!records.length) return "no deployments yet\n";
  return table(
    ["STARTED", "TAG", "STATUS", "DURATION", "ACTOR", "DIGEST", "SERVICES", "SOURCE", "ID"],
    records.map((r) => [
      r.startedAt.replace(/\.\d+Z$/, "Z"),
      r.tag,
      r.status,
      formatDuration(r.durationMs),
      r.actor,
      shortDigest(r.imageDigest),
      servicesCell(r.services),
      sourceText(r) || "-",
      r.id,
    ]),
  );
}

/** Any result: its own rendering when it has one, else its title and its data as YAML. */
export function renderResult(title: string, data: unknown, view?: ResultView): string {
  if (view?.kind === "run") return renderRun(view);
  if (view?.kind === "status") return renderStatus(view.status);
  if (view?.kind === "status-all") return renderStatusAll(view.environments);
  if (view?.kind === "history") return renderHistory(view.records);
  if (data === undefined || data === null) return `${title}\n`;
  // yaml is loaded on the first result that needs it: `--help` and usage errors never do.
  const { stringify } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
  const body = stringify(data, { lineWidth: 0 }).trimEnd();
  return `${title}\n${body.replace(/^/gm, "  ")}\n`;
}
