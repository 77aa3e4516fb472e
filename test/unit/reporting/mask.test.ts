import { describe, expect, it } from "vitest";
import type { ReportEvent } from "../../../src/reporting/reporter.ts";
import { actionsMaskCommand, MASK, maskingReporter, SecretMasker } from "../../../src/reporting/mask.ts";

const CANARY = "canary-Secr3t/value+with=chars";

describe("SecretMasker", () => {
  it.each([
    ["raw", (s: string) => `token is ${s}.`],
    ["base64", (s: string) => `Authorization: Basic ${Buffer.from(s).toString("base64")}`],
    ["base64 without padding", (s: string) => Buffer.from(s).toString("base64").replace(/=+$/, "")],
    ["base64url", (s: string) => Buffer.from(s).toString("base64url")],
    ["URL-encoded", (s: string) => `https://hooks.example/x?k=${encodeURIComponent(s)}`],
    ["embedded in JSON", (s: string) => JSON.stringify({ headers: { "x-key": `${s}"quoted"` } })],
  ])("GIVEN a registered secret WHEN it appears %s THEN it is blanked out", (_form, leak) => {
    const masker = new SecretMasker();
    masker.add(CANARY);
    const text = leak(CANARY);
    expect(text).not.toContain(MASK);
    const out = masker.redact(text);
    expect(out).toContain(MASK);
    expect(out).not.toContain(CANARY);
    expect(out).not.toContain(Buffer.from(CANARY).toString("base64").slice(0, 16));
  });

  it("GIVEN a multi-line secret WHEN one of its lines is printed alone THEN that line is masked", () => {
    const masker = new SecretMasker();
    masker.add("-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----");
    expect(masker.redact("line: AAAABBBBCCCC")).toBe(`line: ${MASK}`);
  });

  it("GIVEN short or empty values WHEN added THEN nothing is masked (no shredded output)", () => {
    const masker = new SecretMasker();
    masker.add("1");
    masker.add("");
    masker.add(undefined);
    expect(masker.size).toBe(0);
    expect(masker.redact("1 true 1")).toBe("1 true 1");
  });

  it("GIVEN Actions WHEN a secret is added THEN the runner is told once per line with ::add-mask::", () => {
    const lines: string[] = [];
    const masker = new SecretMasker({ onAdd: actionsMaskCommand((l) => lines.push(l)) });
    masker.add(CANARY);
    masker.add(CANARY);
    expect(lines).toEqual([`::add-mask::${CANARY}\n`]);
  });

  it("GIVEN a masking reporter WHEN events carry the secret THEN none reaches the host", () => {
    const seen: ReportEvent[] = [];
    const masker = new SecretMasker();
    masker.add(CANARY);
    const reporter = maskingReporter({ emit: (e) => seen.push(e) }, masker);
    reporter.emit({ type: "info", message: `hook says ${CANARY}` });
    reporter.emit({ type: "engine", line: `env X=${CANARY}` });
    reporter.emit({ type: "result", title: "r", data: { nested: [{ v: CANARY }] } });
    expect(JSON.stringify(seen)).not.toContain(CANARY);
    expect(seen).toHaveLength(3);
    expect(seen[2]).toEqual({ type: "result", title: "r", data: { nested: [{ v: MASK }] } });
  });

  it("GIVEN a result whose view carries the secret (a deploy's failure) WHEN reported THEN the view is masked too", () => {
    const seen: ReportEvent[] = [];
    const masker = new SecretMasker();
    masker.add(CANARY);
    const record = {
      id: "d1",
      env: "sandbox",
      tag: "v2",
      imageDigest: "",
      status: "failed" as const,
      startedAt: "2026-12-07T00:00:00Z",
      durationMs: 1,
      actor: "a",
      previous: null,
      current: null,
      snapshotId: null,
      steps: [{ name: "preDeploy", status: "failed", durationMs: 1, detail: `exited 1: ${CANARY}` }],
    };
    maskingReporter({ emit: (e) => seen.push(e) }, masker).emit({
      type: "result",
      title: "deploy failed",
      data: record,
      view: {
        kind: "run",
        run: "deploy",
        exitCode: 1,
        record,
        error: { message: `hook said ${CANARY}`, hint: `rerun with ${CANARY}` },
      },
    });
    expect(JSON.stringify(seen)).not.toContain(CANARY);
    expect(JSON.stringify(seen)).toContain(`hook said ${MASK}`);
  });
});
