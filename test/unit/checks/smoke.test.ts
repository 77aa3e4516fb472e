import { describe, expect, it } from "vitest";
import type { HealthResponse } from "../../../src/aws/ports.ts";
import { evaluateSmoke, expandTemplate, type SmokeExpectation } from "../../../src/checks/smoke.ts";

const answer = (
  status: number | undefined,
  body: unknown,
  latencyMs = 12,
  error?: string,
): HealthResponse => ({ url: "http://h/health", status, body, error, latencyMs });

const healthy = {
  status: "healthy",
  database: "healthy",
  environment: "dev",
  version: "v2",
  deps: { db: "up" },
};

describe("evaluateSmoke", () => {
  const expect200: SmokeExpectation = { statuses: [200], json: {} };

  it.each<[string, HealthResponse, SmokeExpectation, string, string]>([
    ["a 200 with no field expected", answer(200, "OK"), expect200, "pass", "HTTP 200 in 12 ms"],
    [
      "every expected field equal (dotted paths included)",
      answer(200, healthy, 40.4),
      { statuses: [200], json: { status: "healthy", environment: "dev", "deps.db": "up" } },
      "pass",
      "HTTP 200 in 40 ms, 3 fields as expected",
    ],
    [
      "one of several accepted statuses",
      answer(204, ""),
      { statuses: [200, 204], json: {} },
      "pass",
      "HTTP 204 in 12 ms",
    ],
    [
      "numbers, booleans and null compared by value",
      answer(200, { count: 3, ready: true, error: null }),
      { statuses: [200], json: { count: 3, ready: true, error: null } },
      "pass",
      "HTTP 200 in 12 ms, 3 fields as expected",
    ],
  ])("GIVEN %s THEN pass", (_given, res, expectation, state, detail) => {
    expect(evaluateSmoke(res, expectation)).toEqual({ state, detail });
  });

  it.each<[string, HealthResponse, SmokeExpectation, string, string]>([
    [
      "no answer",
      answer(undefined, undefined, 5000, "TimeoutError"),
      expect200,
      "SMOKE_HTTP",
      "did not answer: TimeoutError",
    ],
    [
      "an unexpected status (fields are not looked at)",
      answer(503, { status: "unavailable" }),
      { statuses: [200], json: { status: "healthy" } },
      "SMOKE_STATUS",
      "answered HTTP 503, expected 200",
    ],
    [
      "a JSON value that differs",
      answer(200, healthy),
      { statuses: [200], json: { version: "v3" } },
      "SMOKE_FIELD",
      'field version: expected "v3", got "v2"',
    ],
    [
      "a missing field and a wrong type, both named",
      answer(200, healthy),
      { statuses: [200], json: { region: "eu-west-1", status: true } },
      "SMOKE_FIELD",
      'field region: expected "eu-west-1", got nothing; field status: expected true, got "healthy"',
    ],
    [
      "a body that is not JSON",
      answer(200, "<html>"),
      { statuses: [200], json: { status: "healthy" } },
      "SMOKE_FIELD",
      'field status: expected "healthy", got nothing (the body is not JSON)',
    ],
    [
      "an answer slower than the ceiling",
      answer(200, healthy, 1503.2),
      { statuses: [200], json: {}, maxLatencyMs: 500 },
      "SMOKE_LATENCY",
      "answered in 1503 ms, over the 500 ms ceiling",
    ],
    [
      "a wrong field and a slow answer: both reported, the field's code first",
      answer(200, healthy, 900),
      { statuses: [200], json: { database: "degraded" }, maxLatencyMs: 100 },
      "SMOKE_FIELD",
      'field database: expected "degraded", got "healthy"; answered in 900 ms, over the 100 ms ceiling',
    ],
  ])("GIVEN %s THEN fail with the reason", (_given, res, expectation, code, detail) => {
    expect(evaluateSmoke(res, expectation)).toEqual({ state: "fail", code, detail });
  });

  it("GIVEN an actual value that is a long object THEN the message shows it cut at 80 characters", () => {
    const big = {
      deps: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`service${String(i)}`, "up"])),
    };
    const verdict = evaluateSmoke(answer(200, big), { statuses: [200], json: { deps: "up" } });
    expect(verdict.state).toBe("fail");
    expect(verdict.detail).toMatch(/^field deps: expected "up", got \{"service0":"up",.{50,}\.\.\.$/);
    expect(verdict.detail.length).toBeLessThan(120);
  });

  it("GIVEN an answer exactly at the ceiling THEN it passes (the ceiling is inclusive)", () => {
    expect(evaluateSmoke(answer(200, {}, 500), { statuses: [200], json: {}, maxLatencyMs: 500 }).state).toBe(
      "pass",
    );
  });
});

describe("expandTemplate", () => {
  const vars = { env: "prod", tag: "v1.2.3", deploymentId: "20261122T101500Z-3f9a1c" };

  it.each<[unknown, unknown]>([
    ["${tag}", "v1.2.3"],
    ["${env}-${tag}", "prod-v1.2.3"],
    ["deploy ${deploymentId}", "deploy 20261122T101500Z-3f9a1c"],
    ["${unknown} stays", "${unknown} stays"],
    ["no placeholder", "no placeholder"],
    [42, 42],
    [true, true],
    [null, null],
  ])("GIVEN %j THEN %j", (value, expected) => {
    expect(expandTemplate(value as string, vars)).toEqual(expected);
  });
});
