/** The engine's output as lines: the one place that splits what `pulumi` prints. */

/** A line-by-line reader of the engine's output; `write` takes chunks as they arrive. */
export interface EngineLines {
  /** Take the next chunk of output (any size: a line may span chunks). */
  readonly write: (chunk: string) => void;
  /** The output ended: pass on its last line if it had no newline. */
  readonly end: () => void;
}

/**
 * Split the engine's output into lines and pass each non-blank one to `onLine`, as printed (only
 * the line break removed). A line split across chunks is passed on whole, once complete.
 */
export function engineLines(onLine: (line: string) => void): EngineLines {
  let pending = "";
  const emit = (line: string): void => {
    if (line.trim()) onLine(line);
  };
  return {
    write: (chunk) => {
      const lines = (pending + chunk).split(/\r?\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) emit(line);
    },
    end: () => {
      emit(pending);
      pending = "";
    },
  };
}
