/**
 * Smoke checks as pure functions (DESIGN.md: checks/ = evaluate(observation)): what one HTTP
 * answer says about a configured expectation — the status, JSON fields and a latency ceiling.
 * The smoke step (src/steps/smoke.ts) sends the requests and retries; nothing here does I/O.
 */
import type { HealthResponse } from "../aws/ports.ts";
import { field } from "./gates.ts";

/** A value a JSON field may be expected to equal. */
export type JsonScalar = string | number | boolean | null;

/** What one check expects of an answer (templates already expanded). */
export interface SmokeExpectation {
  /** Acceptable HTTP statuses (at least one). */
  readonly statuses: readonly number[];
  /** Dotted JSON field → the value it must equal. */
  readonly json: Readonly<Record<string, JsonScalar>>;
  /** The answer must arrive within this many ms. */
  readonly maxLatencyMs?: number | undefined;
}

/** Why a smoke check failed; stable for the journal and tests. */
export type SmokeFailure = "SMOKE_HTTP" | "SMOKE_STATUS" | "SMOKE_FIELD" | "SMOKE_LATENCY";

/** The outcome of evaluating one answer. */
export type SmokeVerdict =
  | { readonly state: "pass"; readonly detail: string }
  | { readonly state: "fail"; readonly code: SmokeFailure; readonly detail: string };

/** A value as it appears in a message: JSON, cut at 80 characters; `nothing` when absent. */
function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Evaluate one answer: it must have come (else SMOKE_HTTP), with an expected status (else
 * SMOKE_STATUS); then every JSON field must equal its expected value (SMOKE_FIELD, one
 * "field X: expected Y, got Z" per mismatch) and the latency stay under the ceiling
 * (SMOKE_LATENCY). Every problem found is in the detail; the code is the first one's.
 */
export function evaluateSmoke(res: HealthResponse, expect: SmokeExpectation): SmokeVerdict {
  const ms = Math.round(res.latencyMs);
  if (res.status === undefined) {
    return { state: "fail", code: "SMOKE_HTTP", detail: `did not answer: ${res.error ?? "no response"}` };
  }
  if (!expect.statuses.includes(res.status)) {
    return {
      state: "fail",
      code: "SMOKE_STATUS",
      detail: `answered HTTP ${String(res.status)}, expected ${expect.statuses.join(" or ")}`,
    };
  }
  const problems: { code: SmokeFailure; text: string }[] = [];
  const notJson = typeof res.body !== "object" || res.body === null;
  for (const [path, expected] of Object.entries(expect.json)) {
    const actual = field(res.body, path);
    if (actual !== expected) {
      problems.push({
        code: "SMOKE_FIELD",
        text: `field ${path}: expected ${shown(expected)}, got ${shown(actual)}${notJson ? " (the body is not JSON)" : ""}`,
      });
    }
  }
  if (expect.maxLatencyMs !== undefined && res.latencyMs > expect.maxLatencyMs) {
    problems.push({
      code: "SMOKE_LATENCY",
      text: `answered in ${String(ms)} ms, over the ${String(expect.maxLatencyMs)} ms ceiling`,
    });
  }
  const [first] = problems;
  if (first) return { state: "fail", code: first.code, detail: problems.map((p) => p.text).join("; ") };
  const fields = Object.keys(expect.json).length;
  return {
    state: "pass",
    detail: `HTTP ${String(res.status)} in ${String(ms)} ms${fields ? `, ${String(fields)} field${fields > 1 ? "s" : ""} as expected` : ""}`,
  };
}

/** `${name}` placeholders of a string replaced from `vars` (unknown names are left as written). */
export function expandTemplate(value: JsonScalar, vars: Readonly<Record<string, string>>): JsonScalar {
  if (typeof value !== "string") return value;
  return value.replace(/\$\{([A-Za-z]+)\}/g, (whole, name: string) => vars[name] ?? whole);
}
