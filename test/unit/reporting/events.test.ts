/** The run events' payloads (src/reporting/events.ts): built from the producers' own values. */
import { describe, expect, it } from "vitest";
import { GantryError } from "../../../src/errors.ts";
import * as diff from "../../../src/pulumi/diff.ts";
import { describeError, runEnd, SECRET_VALUE, UNKNOWN_VALUE } from "../../../src/reporting/events.ts";
import { rolledBack, succeeded } from "../github/fixtures.ts";

describe("runEnd", () => {
  it("GIVEN a failed deploy result WHEN it becomes a run end THEN its error is one line with the hint, and the record is the deploy's own", () => {
    const result = rolledBack("health check answered 500\nsecond line");
    expect(runEnd(result, "https://prod.example.com")).toEqual({
      record: result.record,
      exitCode: 3,
      error: {
        message: "gates failed: health check answered 500 second line",
        hint: "gantry status --env prod",
      },
      environmentUrl: "https://prod.example.com",
    });
  });

  it("GIVEN a succeeded deploy that carries an error value WHEN it becomes a run end THEN no error is described", () => {
    const end = runEnd({ ...succeeded(), error: new Error("noise") });
    expect(end).toEqual({ record: succeeded().record, exitCode: 0 });
  });
});

describe("describeError", () => {
  it.each([
    [
      "a GantryError",
      new GantryError("locked", { code: "LOCKED", hint: "gantry unlock" }),
      "locked",
      "gantry unlock",
    ],
    ["a plain Error", new Error("boom"), "boom", undefined],
    ["a thrown string", "bad", "bad", undefined],
  ])("GIVEN %s THEN its message and hint", (_what, error, message, hint) => {
    expect(describeError(error)).toEqual({ message, hint });
  });
});

describe("preview placeholders", () => {
  it("GIVEN the diff model's placeholders THEN the preview view's are the same values (shown bare)", () => {
    expect([SECRET_VALUE, UNKNOWN_VALUE]).toEqual([diff.SECRET_VALUE, diff.UNKNOWN_VALUE]);
  });
});
