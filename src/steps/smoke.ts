/**
 * The smoke gate (`gantry:smoke`): declarative HTTP checks, then a command (a test suite, a k6
 * script), run by the gates step once the release's deployments are COMPLETED, alongside the bake
 * window. Any failure fails the gates, which unwinds into the verified rollback. `--skip-smoke`
 * leaves it out (the ledger records that).
 */
import { evaluateSmoke, expandTemplate, type SmokeVerdict } from "../checks/smoke.ts";
import { poll } from "../checks/poll.ts";
import type { HttpCheckConfig, SmokeConfig } from "../config/schema.ts";
import { valueOf } from "../config/secrets.ts";
import type { SmokeCheckRecord, SmokeRecord } from "./record.ts";
import type { EnvironmentOutputs } from "../stacks/outputs.ts";
import { commandText, maskerOf, runCommand } from "./command.ts";
import { type DeployContext, StepError } from "./context.ts";

/** The smoke config when the gate runs in this deploy (configured and not skipped). */
export function smokeWanted(ctx: Pick<DeployContext, "config" | "request">): SmokeConfig | undefined {
  return smokeSkipped(ctx) ? undefined : ctx.config.gantry.smoke;
}

/** Whether the smoke gate is skipped: `--skip-smoke`, or an emergency deploy. */
function smokeSkipped(ctx: Pick<DeployContext, "request">): boolean {
  return ctx.request.skipSmoke === true || ctx.request.emergency !== undefined;
}

/** A check's name: as configured, else `METHOD path-or-url`. */
export function checkName(check: HttpCheckConfig): string {
  return check.name ?? `${check.method} ${check.path ?? check.url ?? ""}`;
}

/** One line for the plan (and --dry-run): what the smoke gate will do, or why it will not. */
export function smokeSummary(ctx: Pick<DeployContext, "config" | "request">): string | undefined {
  const smoke = ctx.config.gantry.smoke;
  if (!smoke) return undefined;
  if (ctx.request.emergency) return "smoke skipped (--emergency)";
  if (ctx.request.skipSmoke === true) return "smoke skipped (--skip-smoke)";
  const parts: string[] = [];
  if (smoke.checks.length) {
    parts.push(
      `${String(smoke.checks.length)} HTTP check${smoke.checks.length > 1 ? "s" : ""} (${smoke.checks.map(checkName).join(", ")})`,
    );
  }
  if (smoke.command) {
    parts.push(
      `command "${commandText(smoke.command.command)}" (timeout ${String(smoke.command.timeoutSeconds)} s)`,
    );
  }
  return `smoke: ${parts.join(", then ")}`;
}

/** The base URL of a service: the origin of its health URL (the ALB's domain on AWS). */
export function baseUrlOf(outputs: EnvironmentOutputs, service?: string): string {
  const svc = service === undefined ? outputs.services[0] : outputs.services.find((s) => s.name === service);
  if (!svc) {
    throw new StepError(`service ${service ?? "(first)"} is not in the stack outputs`, {
      code: "SMOKE_SERVICE",
      source: "user",
      hint: "name a service of platform:services in gantry:smoke (README: Smoke tests and hooks)",
    });
  }
  return new URL(svc.healthUrl).origin;
}

/** The variables every smoke command and hook gets. */
export function gantryEnv(
  ctx: Pick<DeployContext, "request">,
  baseUrl: string | undefined,
): Record<string, string> {
  return {
    GANTRY_ENV: ctx.request.env,
    GANTRY_TAG: ctx.request.tag,
    GANTRY_DEPLOYMENT_ID: ctx.request.deploymentId,
    ...(baseUrl === undefined ? {} : { BASE_URL: baseUrl }),
  };
}

/** How the smoke gate ended. */
export type SmokeResult =
  { readonly ok: true } | { readonly ok: false; readonly aborted: boolean; readonly error: StepError };

/** One check: up to 1 + retries attempts, `pollIntervalMs` apart, retried only until `deadline`. */
async function runCheck(
  ctx: DeployContext,
  outputs: EnvironmentOutputs,
  smoke: SmokeConfig,
  check: HttpCheckConfig,
  deadline: number,
  signal: AbortSignal,
): Promise<{ record: SmokeCheckRecord; verdict: SmokeVerdict | undefined }> {
  const masker = maskerOf(ctx);
  const secrets = ctx.secrets ?? {};
  const name = checkName(check);
  const url =
    check.url ?? new URL(check.path ?? "/", baseUrlOf(outputs, check.service ?? smoke.service)).href;
  const shownUrl = masker.redact(url);
  const headers = Object.fromEntries(Object.entries(check.headers).map(([k, v]) => [k, valueOf(v, secrets)]));
  const vars = { env: ctx.request.env, tag: ctx.request.tag, deploymentId: ctx.request.deploymentId };
  const expectation = {
    statuses: Array.isArray(check.expectStatus) ? check.expectStatus : [check.expectStatus],
    json: Object.fromEntries(Object.entries(check.expectJson).map(([k, v]) => [k, expandTemplate(v, vars)])),
    maxLatencyMs: check.maxLatencyMs,
  };
  let attempts = 0;
  let last: { verdict: SmokeVerdict; status: number | undefined; latencyMs: number } | undefined;
  await poll<true>(
    async () => {
      attempts += 1;
      const res = await ctx.ports.http.request(url, {
        method: check.method,
        headers,
        ...(check.body === undefined ? {} : { body: check.body }),
        timeoutMs: ctx.timing.httpTimeoutMs,
        signal,
      });
      const verdict = evaluateSmoke(res, expectation);
      last = { verdict, status: res.status, latencyMs: Math.round(res.latencyMs) };
      if (verdict.state === "pass" || attempts > check.retries) return { done: true, value: true };
      return {
        done: false,
        progress: `smoke ${name}: attempt ${String(attempts)} failed: ${verdict.detail}`,
      };
    },
    {
      deadline,
      intervalMs: ctx.timing.pollIntervalMs,
      signal,
      onProgress: (message) => {
        ctx.reporter.emit({ type: "progress", message });
      },
    },
  );
  const verdict = last?.verdict;
  const record: SmokeCheckRecord = {
    name,
    method: check.method,
    url: shownUrl,
    status: verdict?.state === "pass" ? "passed" : "failed",
    attempts,
    httpStatus: last?.status ?? null,
    latencyMs: last?.latencyMs ?? null,
    detail: masker.redact(verdict?.detail ?? "interrupted before an answer"),
  };
  return { record, verdict };
}

/**
 * Run the smoke gate: every HTTP check in order (the first failure stops it), then the command.
 * Checks retry until `deadline` (the end of the bake window). Records what ran in
 * `ctx.facts.smoke`. Never throws for a failed check: the result carries the error to raise.
 */
export async function runSmoke(
  ctx: DeployContext,
  outputs: EnvironmentOutputs,
  deadline: number,
  signal: AbortSignal,
): Promise<SmokeResult> {
  const smoke = smokeWanted(ctx);
  if (!smoke) {
    if (ctx.config.gantry.smoke)
      ctx.reporter.emit({ type: "warn", message: "smoke gate skipped (--skip-smoke)" });
    return { ok: true };
  }
  const masker = maskerOf(ctx);
  const checks: SmokeCheckRecord[] = [];
  const record = (extra: Partial<SmokeRecord> = {}): void => {
    ctx.facts.smoke = { skipped: false, checks, ...extra };
  };
  const interrupted = (): SmokeResult => ({
    ok: false,
    aborted: true,
    error: new StepError("interrupted during the smoke gate", { code: "ABORTED" }),
  });
  for (const check of smoke.checks) {
    const { record: r, verdict } = await runCheck(ctx, outputs, smoke, check, deadline, signal);
    checks.push(r);
    record();
    if (signal.aborted) return interrupted();
    if (verdict?.state !== "pass") {
      ctx.reporter.emit({ type: "warn", message: `smoke check "${r.name}" failed: ${r.detail}` });
      return {
        ok: false,
        aborted: false,
        error: new StepError(
          `smoke check "${r.name}" failed (${r.method} ${r.url}, ${String(r.attempts)} attempt${r.attempts > 1 ? "s" : ""}): ${r.detail}`,
          {
            code: verdict?.state === "fail" ? verdict.code : "SMOKE_HTTP",
            hint: "the release is rolled back automatically; fix the check or the release (gantry deploy --skip-smoke skips the gate)",
          },
        ),
      };
    }
    ctx.reporter.emit({ type: "info", message: `smoke check "${r.name}" passed: ${r.detail}` });
  }
  if (smoke.command) {
    const base = baseUrlOf(outputs, smoke.service);
    const { record: command, failure } = await runCommand(
      ctx,
      "smoke",
      smoke.command,
      gantryEnv(ctx, base),
      signal,
    );
    record({ command });
    if (signal.aborted) return interrupted();
    if (failure !== undefined) {
      return {
        ok: false,
        aborted: false,
        error: new StepError(`smoke failed: ${masker.redact(failure)}`, {
          code: "SMOKE_COMMAND",
          hint: "the release is rolled back automatically; the record's smoke.command.tail has its last output lines",
        }),
      };
    }
  }
  return { ok: true };
}
