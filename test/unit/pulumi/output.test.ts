import { describe, expect, it } from "vitest";
import { engineLines } from "../../../src/pulumi/output.ts";

/** The lines `engineLines` passes on for `chunks`, written in order, then ended. */
function linesOf(chunks: readonly string[]): string[] {
  const lines: string[] = [];
  const out = engineLines((line) => lines.push(line));
  for (const chunk of chunks) out.write(chunk);
  out.end();
  return lines;
}

describe("engineLines", () => {
  it("GIVEN one chunk of several lines with blank ones WHEN split THEN each non-blank line once, as printed", () => {
    expect(linesOf(["Updating (sandbox):\n\n    12 unchanged\n   \nDuration: 1s\n"])).toEqual([
      "Updating (sandbox):",
      "    12 unchanged",
      "Duration: 1s",
    ]);
  });

  it("GIVEN a line split across chunks WHEN split THEN it is passed on whole, once complete", () => {
    const lines: string[] = [];
    const out = engineLines((line) => lines.push(line));

    out.write(" +  platform:Service web crea");
    expect(lines).toEqual([]);
    out.write("ting (1s)\r\n ~  platform:Alarm");
    expect(lines).toEqual([" +  platform:Service web creating (1s)"]);
    out.end();

    expect(lines).toEqual([" +  platform:Service web creating (1s)", " ~  platform:Alarm"]);
  });

  it("GIVEN output with no line break at its end WHEN ended THEN its last line is passed on, and only once", () => {
    const lines: string[] = [];
    const out = engineLines((line) => lines.push(line));
    out.write("Resources:\n    4 unchanged");
    out.end();
    out.end();

    expect(lines).toEqual(["Resources:", "    4 unchanged"]);
  });
});
