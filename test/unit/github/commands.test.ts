/** Workflow commands, step outputs and the job summary, in the formats the Actions runner parses. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  annotation,
  appendOutputs,
  escapeData,
  escapeProperty,
  formatOutput,
} from "../../../src/github/commands.ts";
import { appendJobSummary, cutUtf8, SUMMARY_MAX_BYTES } from "../../../src/github/summary.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "gantry-cmd-"));
let n = 0;
const file = (): string => path.join(dir, `f${String(n++)}`);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The runner's parser of GITHUB_OUTPUT (name=value and name<<DELIMITER … DELIMITER). */
function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name = "", delimiter] = heredoc;
      const value: string[] = [];
      while (lines[++i] !== delimiter) value.push(lines[i] ?? "");
      out[name] = value.join("\n");
    } else {
      const at = line.indexOf("=");
      out[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return out;
}

describe("workflow command escaping", () => {
  it.each([
    ["plain", "plain", "plain"],
    ["100% done", "100%25 done", "100%25 done"],
    ["a\r\nb", "a%0D%0Ab", "a%0D%0Ab"],
    ["key: a, b", "key: a, b", "key%3A a%2C b"],
    ["%0A literal", "%250A literal", "%250A literal"],
  ])("GIVEN %j THEN data is %j and property is %j", (raw, data, property) => {
    expect(escapeData(raw)).toBe(data);
    expect(escapeProperty(raw)).toBe(property);
  });

  it("GIVEN an error with a title and a multi-line message THEN one ::error line with escaped parts", () => {
    expect(
      annotation("error", "deploy failed: 50% of tasks\nnext: gantry status", {
        title: "gantry: deploy, prod",
      }),
    ).toBe("::error title=gantry%3A deploy%2C prod::deploy failed: 50%25 of tasks%0Anext: gantry status\n");
    expect(annotation("warning", "w")).toBe("::warning::w\n");
    expect(annotation("notice", "n", { file: "a.ts", line: 3 })).toBe("::notice file=a.ts,line=3::n\n");
  });
});

describe("step outputs", () => {
  it("GIVEN one-line and multi-line values WHEN appended THEN the runner's format reads them back exactly", async () => {
    const f = file();
    writeFileSync(f, "earlier=1\n");
    const outputs = {
      "deployment-id": "20261122T101500Z-3f9a1c",
      digest: "sha256:abc",
      "exit-code": "0",
      notes: "line 1\nline 2 with = and <<\r\nline 3",
      empty: "",
    };
    await appendOutputs(f, outputs);
    const text = readFileSync(f, "utf8");
    expect(text).toContain("deployment-id=20261122T101500Z-3f9a1c\n");
    expect(text).toMatch(/^notes<<ghadelimiter_[0-9a-f-]{36}$/m);
    expect(parseOutputFile(text)).toEqual({
      earlier: "1",
      ...outputs,
      notes: "line 1\nline 2 with = and <<\r\nline 3",
    });
  });

  it("GIVEN an invalid output name THEN a typed error", () => {
    expect(() => formatOutput("bad name", "x")).toThrow(/not a valid step output name/);
  });
});

describe("job summary", () => {
  it("GIVEN two appends THEN both are in the file, each ending with a line break", async () => {
    const f = file();
    await appendJobSummary(f, "## one");
    await appendJobSummary(f, "two\n");
    expect(readFileSync(f, "utf8")).toBe("## one\ntwo\n");
  });

  it("GIVEN a summary that would pass 1 MiB THEN it is cut to fit, with a note, at a character boundary", async () => {
    const f = file();
    writeFileSync(f, "x".repeat(SUMMARY_MAX_BYTES - 1000));
    await appendJobSummary(f, "é".repeat(5000));
    const text = readFileSync(f, "utf8");
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    expect(text).toContain("limited to 1 MiB");
    expect(text).not.toContain("\uFFFD");
  });

  it("GIVEN a multi-byte string THEN cutUtf8 never splits a character", () => {
    expect(cutUtf8("aé", 2)).toBe("a");
    expect(cutUtf8("aé", 3)).toBe("aé");
    expect(cutUtf8("€€", 4)).toBe("€");
  });
});
