/**
 * Lifecycle of the sandbox process (sandbox/server.py under the .tools/ virtualenv): start on a
 * free 127.0.0.1 port, pid file and log under the state folder, status, clean stop. Started
 * automatically by every command that targets `--env sandbox`; tests start their own in a
 * temporary state folder and always stop it.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { SandboxError, UsageError } from "../errors.ts";
import { tail } from "../tools/exec.ts";
import { withDirLock } from "../tools/lock.ts";
import { isAlive } from "../tools/pid.ts";
import { projectRoot } from "../tools/paths.ts";
import { SandboxControl, type SandboxHealth } from "./control.ts";
import { ensureSandboxVenv } from "./venv.ts";

/** What the pid file records about a running sandbox. */
export interface SandboxRecord {
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  readonly startedAt: string;
  readonly logFile: string;
}

/** A running sandbox as seen from the outside. */
export interface SandboxStatus {
  readonly running: boolean;
  readonly record?: SandboxRecord;
  readonly health?: SandboxHealth;
  /** Why it is not running, when it is not. */
  readonly reason?: string;
}

/** Options for {@link startSandbox}. */
export interface StartOptions {
  readonly stateDir: string;
  readonly toolsDir: string;
  readonly log: (line: string) => void;
  /** Fixed port; default: a free one. */
  readonly port?: number;
  readonly speeds?: { rolloutSeconds?: number; snapshotSeconds?: number; taskSeconds?: number };
  readonly readyTimeoutMs?: number;
}

const RECORD = "sandbox.json";

/** True when `pid` is alive and is a gantry sandbox server (guards against pid reuse). */
async function isSandboxProcess(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => undefined);
  // No /proc (macOS): trust the pid. An empty cmdline is a zombie that is already gone.
  if (cmdline === undefined) return !existsSync("/proc/self");
  return cmdline.includes("server.py");
}

async function readRecord(stateDir: string): Promise<SandboxRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, RECORD), "utf8")) as SandboxRecord;
  } catch {
    return undefined;
  }
}

/** Ask the OS for a free port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** True when something already listens on 127.0.0.1:port. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

/** Status of the sandbox recorded in `stateDir`. */
export async function sandboxStatus(stateDir: string): Promise<SandboxStatus> {
  const record = await readRecord(stateDir);
  if (!record) return { running: false, reason: "not started" };
  if (!(await isSandboxProcess(record.pid)))
    return { running: false, record, reason: `pid ${record.pid} is gone` };
  try {
    const health = await new SandboxControl(record.endpoint).health();
    return { running: true, record, health };
  } catch (err) {
    return { running: false, record, reason: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Start the sandbox unless one recorded in `stateDir` already answers; returns its record.
 * @throws UsageError when a requested port is in use; SandboxError when it fails to start.
 */
export async function startSandbox(options: StartOptions): Promise<SandboxRecord & { reused: boolean }> {
  await mkdir(options.stateDir, { recursive: true });
  // Two commands starting the sandbox at once must end up with one process, not an orphan.
  return withDirLock(path.join(options.stateDir, ".start.lock"), () => startLocked(options), 120_000);
}

async function startLocked(options: StartOptions): Promise<SandboxRecord & { reused: boolean }> {
  const current = await sandboxStatus(options.stateDir);
  if (current.running && current.record) return { ...current.record, reused: true };
  if (current.record && isAlive(current.record.pid) && (await isSandboxProcess(current.record.pid))) {
    // Recorded process alive but not answering: stop it rather than leave it behind.
    await stopSandbox(options.stateDir);
  }

  if (options.port !== undefined && (await portInUse(options.port))) {
    throw new UsageError(
      `port ${options.port} is already in use on 127.0.0.1`,
      "choose another with --port, or omit --port to use a free one",
    );
  }
  const venv = await ensureSandboxVenv(options.toolsDir, options.log);
  const port = options.port ?? (await freePort());
  const logFile = path.join(options.stateDir, "sandbox.log");
  // One log per run; the previous run's is kept beside it for a post-mortem.
  await rename(logFile, `${logFile}.1`).catch(() => undefined);
  const logHandle = await open(logFile, "w");
  const args = [path.join(projectRoot, "sandbox", "server.py"), "--port", String(port)];
  const speeds = options.speeds ?? {};
  if (speeds.rolloutSeconds !== undefined) args.push("--rollout-seconds", String(speeds.rolloutSeconds));
  if (speeds.snapshotSeconds !== undefined) args.push("--snapshot-seconds", String(speeds.snapshotSeconds));
  if (speeds.taskSeconds !== undefined) args.push("--task-seconds", String(speeds.taskSeconds));
  const child = spawn(venv.python, args, {
    cwd: projectRoot,
    detached: true,
    stdio: ["ignore", logHandle.fd, logHandle.fd],
    env: { ...process.env, PYTHONUNBUFFERED: "1" },
  });
  let exited: number | null | undefined;
  child.on("exit", (code) => {
    exited = code;
  });
  child.unref();
  await logHandle.close();
  const pid = child.pid;
  if (pid === undefined) {
    throw new SandboxError("could not start the sandbox process", { code: "SANDBOX_SPAWN_FAILED" });
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const control = new SandboxControl(endpoint);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) {
      const log = await readFile(logFile, "utf8").catch(() => "");
      throw new SandboxError(`the sandbox exited during start (code ${String(exited)}): ${tail(log, 2)}`, {
        code: exited === 3 ? "SANDBOX_PORT_IN_USE" : "SANDBOX_START_FAILED",
        hint: `see ${path.relative(process.cwd(), logFile)}`,
      });
    }
    try {
      const health = await control.health();
      if (health.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      throw new SandboxError(`the sandbox did not answer on ${endpoint} within the start deadline`, {
        code: "SANDBOX_START_TIMEOUT",
        hint: `see ${path.relative(process.cwd(), logFile)}`,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const record: SandboxRecord = { pid, port, endpoint, startedAt: new Date().toISOString(), logFile };
  await writeFile(path.join(options.stateDir, RECORD), JSON.stringify(record, null, 2));
  return { ...record, reused: false };
}

/** Stop the sandbox recorded in `stateDir` (SIGTERM, SIGKILL after 5 s); true if one was running. */
export async function stopSandbox(stateDir: string): Promise<boolean> {
  const record = await readRecord(stateDir);
  if (!record) return false;
  let wasRunning = false;
  if (await isSandboxProcess(record.pid)) {
    wasRunning = true;
    process.kill(record.pid, "SIGTERM");
    const deadline = Date.now() + 5000;
    while (isAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(record.pid)) process.kill(record.pid, "SIGKILL");
  }
  await rm(path.join(stateDir, RECORD), { force: true });
  return wasRunning;
}
