/** Runs the real `gantry` CLI in a child process (Node 24, the repo's bin), collecting its output. */
import { spawn } from "node:child_process";
import path from "node:path";
import { projectRoot } from "../../src/tools/paths.ts";

/** What one CLI run produced. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * The environment a CLI under test sees: this process's, without what would make it talk to the
 * CI job running the tests (GitHub Actions job summary, outputs, annotations, deployments, Slack),
 * plus what the test passes explicitly.
 */
export function cliEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith("GITHUB_") && k !== "GANTRY_SLACK_WEBHOOK_URL" && k !== "CI",
    ),
  );
  return { ...inherited, ...env };
}

/** `gantry <args>` with extra environment variables (e.g. GANTRY_SANDBOX_DIR). */
export function runGantry(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "gantry.js"), ...args], {
      env: cliEnvironment(env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => {
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * `gantry <args>` on a pseudo-terminal (util-linux `script`), `input` typed into it: the CLI sees
 * terminals on stdin and stderr, as when a person runs it. stdout and stderr come back merged as
 * the terminal showed them (`stdout`; `stderr` is script's own).
 */
export function runGantryInTerminal(
  env: NodeJS.ProcessEnv,
  input: string,
  ...args: string[]
): Promise<CliRun> {
  const started = Date.now();
  const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, path.join(projectRoot, "bin", "gantry.js"), ...args]
    .map(quote)
    .join(" ");
  return new Promise((resolve) => {
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      env: cliEnvironment({ ...env, COLUMNS: "100", LINES: "40" }),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    child.on("close", (code) => {
      resolve({ code, stdout: stdout.replaceAll("\r\n", "\n"), stderr, ms: Date.now() - started });
    });
  });
}
