import { describe, expect, it } from "vitest";
import { splitLines } from "../../../src/tools/lines.ts";

/** The lines `splitLines` passes on for `chunks`, written in order, then ended. */
function linesOf(chunks: readonly string[], maxLineChars?: number): string[] {
  const lines: string[] = [];
  const out = splitLines((line) => lines.push(line), maxLineChars === undefined ? {} : { maxLineChars });
  for (const chunk of chunks) out.write(chunk);
  out.end();
  return lines;
}

describe("splitLines", () => {
  it("GIVEN \\n, \\r\\n and a bare \\r WHEN split THEN one line each, blank ones kept, breaks removed", () => {
    expect(linesOf(["a\nb\r\n\nprogress 10%\rprogress 20%\r\nend"])).toEqual([
      "a",
      "b",
      "",
      "progress 10%",
      "progress 20%",
      "end",
    ]);
  });

  it("GIVEN a line split across chunks WHEN split THEN it is passed on whole, once complete", () => {
    const lines: string[] = [];
    const out = splitLines((line) => lines.push(line));
    out.write("hal");
    expect(lines).toEqual([]);
    out.write("f\nnext");
    expect(lines).toEqual(["half"]);
    out.end();
    out.end();
    expect(lines).toEqual(["half", "next"]);
  });

  it("GIVEN a line that never ends WHEN it outgrows the limit THEN it is passed on in pieces of the limit", () => {
    expect(linesOf(["x".repeat(25)], 10)).toEqual(["x".repeat(10), "x".repeat(10), "x".repeat(5)]);
  });
});
