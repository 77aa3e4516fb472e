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

/** `gantry <args>` with extra environment variables (e.g. GANTRY_SANDBOX_DIR). */
export function runGantry(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "gantry.js"), ...args], {
      env: { ...process.env, ...env },
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
