/**
 * The smoke gate's runner on the fake environment: HTTP checks (paths relative to the service's
 * URL, templates, statuses, JSON fields, latency, retries bounded by the bake window, secret
 * headers) and the smoke command, and what it records for the final record.
 */
import { describe, expect, it } from "vitest";
import type { HealthResponse, HttpPort, HttpRequest } from "../../../src/aws/ports.ts";
import type { gantryConfigSchema } from "../../../src/config/schema.ts";
import { SecretMasker } from "../../../src/reporting/mask.ts";
import { baseUrlOf, runSmoke, smokeSummary } from "../../../src/steps/smoke.ts";
import { type FakeContextOverrides, fakeDeployContext } from "../../fakes/context.ts";
import type { z } from "zod";

const never = new AbortController().signal;
const BASE = "http://127.0.0.1:9";

function smokeContext(
  smoke: z.input<typeof gantryConfigSchema>["smoke"],
  overrides: FakeContextOverrides = {},
) {
  const ctx = fakeDeployContext({ established: true, ...overrides, gantry: { smoke, ...overrides.gantry } });
  return ctx;
}

describe("runSmoke", () => {
  it("GIVEN checks that hold and a command that succeeds WHEN run THEN ok, and the record lists each check and the command with its output", async () => {
    const ctx = smokeContext({
      checks: [
        {
          name: "orders",
          path: "/api/orders?limit=1",
          expectJson: { "meta.environment": "${env}", "meta.version": "${tag}" },
        },
        { url: "https://status.example.com/ping", method: "HEAD", expectStatus: [200, 204] },
      ],
      command: { command: 'echo "smoke against $BASE_URL for $GANTRY_TAG"' },
    });
    ctx.ports.http.route(`${BASE}/api/orders?limit=1`, {
      status: 200,
      body: { meta: { environment: "sandbox", version: "v2.0.0" } },
    });
    ctx.ports.http.route("https://status.example.com/ping", { status: 204 });

    const result = await runSmoke(ctx, ctx.fake.outputs, Date.now() + 1000, never);

    expect(result).toEqual({ ok: true });
    expect(ctx.fake.log.argsOf("http.request")).toEqual([
      ["GET", `${BASE}/api/orders?limit=1`, []],
      ["HEAD", "https://status.example.com/ping", []],
    ]);
    expect(ctx.facts.smoke).toMatchObject({
      skipped: false,
      checks: [
        {
          name: "orders",
          status: "passed",
          attempts: 1,
          httpStatus: 200,
          detail: "HTTP 200 in 1 ms, 2 fields as expected",
        },
        { name: "HEAD https://status.example.com/ping", status: "passed", httpStatus: 204 },
      ],
      command: {
        name: "smoke",
        status: "succeeded",
        exitCode: 0,
        tail: [`smoke against ${BASE} for v2.0.0`],
      },
    });
  });

  it("GIVEN a JSON field that differs WHEN run THEN the gate fails naming the field, the expected and the actual value, and the command does not run", async () => {
    const ctx = smokeContext({
      checks: [{ path: "/web/health", expectJson: { status: "ok", environment: "${env}" } }],
      command: { command: "echo should-not-run" },
    });
    ctx.ports.http.route(`${BASE}/web/health`, {
      status: 200,
      body: { status: "ok", environment: "staging" },
    });

    const result = await runSmoke(ctx, ctx.fake.outputs, Date.now() + 1000, never);

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.aborted).toBe(false);
    expect(result.error.code).toBe("SMOKE_FIELD");
    expect(result.error.message).toBe(
      `smoke check "GET /web/health" failed (GET ${BASE}/web/health, 1 attempt): field environment: expected "sandbox", got "staging"`,
    );
    expect(ctx.facts.smoke?.command).toBeUndefined();
    expect(ctx.reporter.messages("warn")).toContainEqual(
      expect.stringMatching(/^smoke check "GET \/web\/health" failed/),
    );
  });

  it("GIVEN an endpoint slower than the latency ceiling THEN SMOKE_LATENCY with the measured time", async () => {
    const ctx = smokeContext({ checks: [{ name: "slow", path: "/web/health", maxLatencyMs: 500 }] });
    ctx.ports.http.route(`${BASE}/web/health`, { status: 200, body: {}, latencyMs: 1503 });

    const result = await runSmoke(ctx, ctx.fake.outputs, Date.now() + 1000, never);

    expect(result.ok || result.error.code).toBe("SMOKE_LATENCY");
    expect(result.ok || result.error.message).toMatch(/answered in 1503 ms, over the 500 ms ceiling$/);
  });

  it.each([
    { retries: 2, ok: true, attempts: 3 },
    { retries: 1, ok: false, attempts: 2 },
  ])(
    "GIVEN an endpoint that answers 503 twice, then 200, and retries $retries THEN ok=$ok after $attempts attempts",
    async ({ retries, ok, attempts }) => {
      const ctx = smokeContext({ checks: [{ name: "warm-up", path: "/web/health", retries }] });
      let calls = 0;
      ctx.ports.http.route(`${BASE}/web/health`, () =>
        ++calls <= 2 ? { status: 503 } : { status: 200, body: {} },
      );

      const result = await runSmoke(ctx, ctx.fake.outputs, Date.now() + 5000, never);

      expect(result.ok).toBe(ok);
      expect(ctx.facts.smoke?.checks[0]?.attempts).toBe(attempts);
      expect(ctx.reporter.messages("progress")).toContainEqual(
        "smoke warm-up: attempt 1 failed: answered HTTP 503, expected 200",
      );
    },
  );

  it("GIVEN many retries and a bake window that ends THEN retrying stops at the end of the window", async () => {
    const ctx = smokeContext(
      { checks: [{ name: "down", path: "/web/health", retries: 100 }] },
      { timing: { pollIntervalMs: 20 } },
    );
    ctx.ports.http.route(`${BASE}/web/health`, { status: 500 });
    const started = Date.now();

    const result = await runSmoke(ctx, ctx.fake.outputs, started + 100, never);

    expect(result.ok).toBe(false);
    const tried = ctx.facts.smoke?.checks[0]?.attempts ?? 0;
    expect(tried).toBeGreaterThan(1);
    expect(tried).toBeLessThan(20);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("GIVEN a header from a secret WHEN the check runs THEN the value is sent, and it appears in no report and not in the record", async () => {
    const secret = "s3cret-canary-9d1e";
    const masker = new SecretMasker();
    masker.add(secret);
    const sent: HttpRequest[] = [];
    const base = smokeContext({
      checks: [
        {
          name: "admin",
          path: "/api/admin",
          headers: { Authorization: { fromEnv: "SMOKE_TOKEN", prefix: "Bearer " }, "X-Env": "${env}" },
          expectJson: { user: "smoke" },
        },
      ],
    });
    // A fake of our own port that records what it was sent and answers like an endpoint that echoes.
    const http: HttpPort = {
      get: (url, timeoutMs) => base.ports.http.get(url, timeoutMs),
      request: (url, request): Promise<HealthResponse> => {
        sent.push(request);
        return Promise.resolve({
          url,
          status: 401,
          body: { error: `bad token ${String(request.headers.Authorization)}` },
          error: undefined,
          latencyMs: 3,
        });
      },
    };
    const ctx = { ...base, ports: { ...base.ports, http }, masker, secrets: { SMOKE_TOKEN: secret } };

    const result = await runSmoke(ctx, ctx.fake.outputs, Date.now() + 1000, never);

    expect(sent.map((r) => r.headers)).toEqual([{ Authorization: `Bearer ${secret}`, "X-Env": "${env}" }]);
    expect(result.ok).toBe(false);
    const everything = JSON.stringify([
      base.reporter.events,
      ctx.facts.smoke,
      result.ok || result.error.message,
    ]);
    expect(everything).not.toContain(secret);
  });

  it("GIVEN a smoke command that exits 1 THEN SMOKE_COMMAND with its last lines, and the record keeps the tail", async () => {
    const ctx = smokeContext({
      command: { command: "echo '2 passed'; echo '1 failed: checkout' >&2; exit 1" },
    });

    const result = await runSmoke(ctx, ctx.fake.outputs, Date.now() + 1000, never);

    expect(result.ok || result.error.code).toBe("SMOKE_COMMAND");
    expect(result.ok || result.error.message).toMatch(/exited with code 1: 2 passed \| 1 failed: checkout$/);
    expect(ctx.facts.smoke?.command).toMatchObject({
      status: "failed",
      exitCode: 1,
      tail: ["2 passed", "1 failed: checkout"],
    });
  });

  it("GIVEN --skip-smoke THEN nothing runs, a warning says so, and ok", async () => {
    const ctx = smokeContext({ checks: [{ path: "/web/health" }] }, { request: { skipSmoke: true } });

    expect(await runSmoke(ctx, ctx.fake.outputs, Date.now() + 1000, never)).toEqual({ ok: true });
    expect(ctx.fake.log.argsOf("http.request")).toEqual([]);
    expect(ctx.reporter.messages("warn")).toEqual(["smoke gate skipped (--skip-smoke)"]);
    expect(smokeSummary(ctx)).toBe("smoke skipped (--skip-smoke)");
  });

  it("GIVEN no smoke config THEN nothing runs and nothing is recorded", async () => {
    const ctx = fakeDeployContext({ established: true });
    expect(await runSmoke(ctx, ctx.fake.outputs, Date.now(), never)).toEqual({ ok: true });
    expect(ctx.facts.smoke).toBeUndefined();
    expect(smokeSummary(ctx)).toBeUndefined();
  });

  it("GIVEN the deploy is interrupted during a check's retries THEN the result says aborted", async () => {
    const ctx = smokeContext(
      { checks: [{ path: "/web/health", retries: 100 }] },
      { timing: { pollIntervalMs: 50 } },
    );
    ctx.ports.http.route(`${BASE}/web/health`, { status: 500 });
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 120);
    const result = await runSmoke(ctx, ctx.fake.outputs, Date.now() + 10_000, controller.signal);
    expect(result).toMatchObject({ ok: false, aborted: true });
  });
});

describe("baseUrlOf and smokeSummary", () => {
  it("GIVEN services THEN the base URL is the origin of the service's health URL (the first by default)", () => {
    const outputs = {
      ...fakeDeployContext().fake.outputs,
      services: [
        {
          ...fakeDeployContext().fake.outputs.services[0]!,
          name: "web",
          healthUrl: "https://dev.example.com/health",
        },
        {
          ...fakeDeployContext().fake.outputs.services[1]!,
          name: "api",
          healthUrl: "https://api.dev.example.com:8443/api/health",
        },
      ],
    };
    expect(baseUrlOf(outputs)).toBe("https://dev.example.com");
    expect(baseUrlOf(outputs, "api")).toBe("https://api.dev.example.com:8443");
    expect(() => baseUrlOf(outputs, "admin")).toThrow(/service admin is not in the stack outputs/);
  });

  it("GIVEN checks and a command THEN the plan line names them", () => {
    const ctx = smokeContext({
      checks: [{ name: "health", path: "/health" }, { path: "/api/orders" }],
      command: { command: ["npm", "run", "test:smoke"], timeoutSeconds: 120 },
    });
    expect(smokeSummary(ctx)).toBe(
      'smoke: 2 HTTP checks (health, GET /api/orders), then command "npm run test:smoke" (timeout 120 s)',
    );
  });
});
