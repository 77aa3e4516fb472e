import { spawn } from "node:child_process";
import { access, constants } from "node:fs/promises";
import path from "node:path";

/** Result of a finished child process. */
export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** Options for {@link run}. */
export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGTERM, then SIGKILL after 5 s) once this many ms have passed. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with each chunk of stdout and stderr (and its stream), for progress on long builds. */
  readonly onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
  /**
   * Start the child in a process group of its own and send timeout/abort signals to the whole
   * group (POSIX), so that what a shell command started (npm → node …) cannot outlive it and
   * keep its output open. Such a child no longer gets the terminal's Ctrl-C directly: the caller
   * aborts it through `signal`.
   */
  readonly processGroup?: boolean;
}

/**
 * Run a command to completion and collect its output. Never throws for a non-zero exit:
 * callers classify the result (house style: foreign failures are classified at the boundary).
 * A command that cannot be started resolves with code null and the reason in stderr.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const group = options.processGroup === true && process.platform !== "win32";
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      ...(group ? { detached: true } : { signal: options.signal }),
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (sig: NodeJS.Signals): void => {
      if (group && child.pid !== undefined) {
        try {
          process.kill(-child.pid, sig);
          return;
        } catch {
          // the group is gone already: fall through to the child itself
        }
      }
      child.kill(sig);
    };
    const stop = (): void => {
      kill("SIGTERM");
      killTimer ??= setTimeout(() => {
        kill("SIGKILL");
      }, 5000);
    };
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs);
    const onAbort = (): void => {
      stop();
    };
    if (group) {
      if (options.signal?.aborted) stop();
      else options.signal?.addEventListener("abort", onAbort, { once: true });
    }
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      options.onOutput?.(d.toString(), "stdout");
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      options.onOutput?.(d.toString(), "stderr");
    });
    const finish = (code: number | null, signal: NodeJS.Signals | null, extra = ""): void => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve({ code, signal, stdout, stderr: stderr + extra, timedOut });
    };
    child.on("error", (err) => {
      finish(null, null, err.message);
    });
    child.on("close", (code, signal) => {
      finish(code, signal);
    });
  });
}

/** Find an executable on PATH (like `which`), or undefined. */
export async function which(name: string, envPath = process.env.PATH ?? ""): Promise<string | undefined> {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The last `lines` non-empty lines of a text, joined by " | ", for one-line error messages. */
export function tail(text: string, lines = 3): string {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(" | ");
}
