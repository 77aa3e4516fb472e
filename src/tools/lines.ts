/**
 * Output of other programs (the Pulumi engine, hooks, the smoke and migration commands) as lines:
 * the one place that splits a stream of chunks into lines.
 */

/** A line-by-line reader of a stream; `write` takes chunks as they arrive. */
export interface LineReader {
  /** Take the next chunk (any size: a line may span chunks). */
  readonly write: (chunk: string) => void;
  /** The stream ended: pass on its last line if it had no line break. */
  readonly end: () => void;
}

/**
 * Split chunks into lines at `\n`, `\r\n` or a bare `\r` (a progress bar redrawing its line), and
 * pass each to `onLine` without its line break. A line split across chunks is passed on whole,
 * once complete; a line that never ends is passed on in pieces of `maxLineChars`.
 */
export function splitLines(
  onLine: (line: string) => void,
  options: { maxLineChars?: number } = {},
): LineReader {
  const max = options.maxLineChars ?? 8000;
  let pending = "";
  return {
    write: (chunk) => {
      const lines = (pending + chunk).split(/\r?\n|\r/);
      pending = lines.pop() ?? "";
      while (pending.length > max) {
        lines.push(pending.slice(0, max));
        pending = pending.slice(max);
      }
      for (const line of lines) onLine(line);
    },
    end: () => {
      if (pending) onLine(pending);
      pending = "";
    },
  };
}
