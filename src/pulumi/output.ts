/** The Pulumi engine's output as lines (split by src/tools/lines.ts), blank ones left out. */
import { type LineReader, splitLines } from "../tools/lines.ts";

/**
 * Split the engine's output into lines and pass each non-blank one to `onLine`, as printed (only
 * the line break removed). A line split across chunks is passed on whole, once complete.
 */
export function engineLines(onLine: (line: string) => void): LineReader {
  return splitLines((line) => {
    if (line.trim()) onLine(line);
  });
}
