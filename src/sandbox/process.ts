/**
 * Lifecycle of the sandbox process (sandbox/server.py under the .tools/ virtualenv) and of the OCI
 * registries beside it (./registry.ts): start on free 127.0.0.1 ports, pid file and logs under the
 * state folder, status, clean stop. Started automatically by every command that targets
 * `--env sandbox`; tests start their own in a temporary state folder and always stop it.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { oneLine, SandboxError, UsageError } from "../errors.ts";
import { tail } from "../tools/exec.ts";
import { withDirLock } from "../tools/lock.ts";
import { isAlive } from "../tools/pid.ts";
import { projectRoot } from "../tools/paths.ts";
import { ensureRegistryBinary } from "../tools/registry.ts";
import { SandboxControl, type SandboxHealth } from "./control.ts";
import {
  isRegistryProcess,
  prepareRegistries,
  type PlannedRegistry,
  type SandboxRegistry,
  startRegistry,
  stopRegistry,
} from "./registry.ts";
import { ensureSandboxVenv } from "./venv.ts";

/** What the pid file records about a running sandbox. */
export interface SandboxRecord {
  readonly pid: number;
  readonly port: number;
  readonly endpoint: string;
  readonly startedAt: string;
  readonly logFile: string;
  /** The OCI registries started with it (SPEC R27); absent in records of gantry versions before them. */
  readonly registries?: readonly SandboxRegistry[];
  /** Why the sandbox runs without registries (e.g. Go missing), when it does. */
  readonly registryError?: string;
}

/** A running sandbox as seen from the outside. */
export interface SandboxStatus {
  readonly running: boolean;
  readonly record?: SandboxRecord;
  readonly health?: SandboxHealth;
  /** Why it is not running, when it is not. */
  readonly reason?: string;
  /** The names of the recorded registries whose process is gone. */
  readonly registriesDown?: readonly string[];
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
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port ?? 0;
}

/** Ask the OS for `count` distinct free ports on 127.0.0.1 (all held open until each is known). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const server = net.createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => {
            resolve(server);
          });
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === "object" && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
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
    const registriesDown: string[] = [];
    for (const r of record.registries ?? []) {
      if (!(await isRegistryProcess(r.pid, r.configFile))) registriesDown.push(r.name);
    }
    return { running: true, record, health, registriesDown };
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
  const current = await sandboxStatus(options.stateDir);
  if (current.running && current.record?.registries && !current.registriesDown?.length) {
    return { ...current.record, reused: true };
  }
  // The first start builds the tools (minutes); each has a lock of its own, so they are provided
  // before the start lock: a second command waits for the build there, not on the start lock.
  const tools = await provideTools(options);
  // Two commands starting the sandbox at once must end up with one process, not an orphan.
  return withDirLock(path.join(options.stateDir, ".start.lock"), () => startLocked(options, tools), 120_000);
}

/** What starting the sandbox needs built: its Python environment and (if it can be built) the registry. */
interface SandboxTools {
  readonly python: string;
  readonly registry:
    | { readonly binary: string; readonly error?: undefined }
    | { readonly binary?: undefined; readonly error: string };
}

/** Build (first time only) or find the sandbox's tools, both at once: they are independent. */
async function provideTools(options: StartOptions): Promise<SandboxTools> {
  const [venv, registry] = await Promise.all([
    ensureSandboxVenv(options.toolsDir, options.log),
    ensureRegistryBinary({ toolsDir: options.toolsDir, log: options.log }).then(
      (binary) => ({ binary }),
      (err: unknown) => {
        // The AWS side does not need the registries: the sandbox starts without them, saying why.
        options.log(`sandbox: starting without OCI registries: ${oneLine(err)}`);
        return { error: oneLine(err) };
      },
    ),
  ]);
  return { python: venv.python, registry };
}

async function startLocked(
  options: StartOptions,
  tools: SandboxTools,
): Promise<SandboxRecord & { reused: boolean }> {
  const current = await sandboxStatus(options.stateDir);
  if (current.running && current.record?.registries) {
    return {
      ...(await reviveRegistries(options, tools, current.record, current.registriesDown ?? [])),
      reused: true,
    };
  }
  if (current.record) {
    // Recorded process alive but not answering, or started without registries (by an older
    // gantry), or gone with its registries left: stop what is left rather than leave it behind.
    await stopSandbox(options.stateDir);
  }

  if (options.port !== undefined && (await portInUse(options.port))) {
    throw new UsageError(
      `port ${options.port} is already in use on 127.0.0.1`,
      "choose another with --port, or omit --port to use a free one",
    );
  }
  const { registry } = tools;
  const ports = await freePorts(options.port === undefined ? 3 : 2);
  const port = options.port ?? ports[2] ?? 0;
  const plan = registry.binary
    ? await prepareRegistries(options.stateDir, port, [ports[0] ?? 0, ports[1] ?? 0])
    : undefined;
  const logFile = path.join(options.stateDir, "sandbox.log");
  // One log per run; the previous run's is kept beside it for a post-mortem.
  await rename(logFile, `${logFile}.1`).catch(() => undefined);
  const logHandle = await open(logFile, "w");
  const args = [path.join(projectRoot, "sandbox", "server.py"), "--port", String(port)];
  const speeds = options.speeds ?? {};
  if (speeds.rolloutSeconds !== undefined) args.push("--rollout-seconds", String(speeds.rolloutSeconds));
  if (speeds.snapshotSeconds !== undefined) args.push("--snapshot-seconds", String(speeds.snapshotSeconds));
  if (speeds.taskSeconds !== undefined) args.push("--task-seconds", String(speeds.taskSeconds));
  if (plan) args.push("--registries", plan.serverFile);
  const child = spawn(tools.python, args, {
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
  // The registries start while the server loads moto.
  const registriesStarted = startRegistries(registry.binary, plan?.registries ?? [], options.log);

  const endpoint = `http://127.0.0.1:${port}`;
  const control = new SandboxControl(endpoint);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  try {
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
  } catch (err) {
    for (const r of (await registriesStarted).registries) await stopRegistry(r);
    throw err;
  }
  const started = await registriesStarted;
  const registryError = registry.error ?? started.error;
  const record: SandboxRecord = {
    pid,
    port,
    endpoint,
    startedAt: new Date().toISOString(),
    logFile,
    registries: started.registries,
    ...(registryError === undefined ? {} : { registryError }),
  };
  await writeFile(path.join(options.stateDir, RECORD), JSON.stringify(record, null, 2));
  return { ...record, reused: false };
}

/**
 * Start the planned registries; one that cannot start is logged and left out (the sandbox runs
 * without it: the AWS side does not need it), its reason returned.
 */
async function startRegistries(
  binary: string | undefined,
  planned: readonly PlannedRegistry[],
  log: (line: string) => void,
): Promise<{ registries: SandboxRegistry[]; error?: string }> {
  if (!binary) return { registries: [] };
  const settled = await Promise.allSettled(planned.map((r) => startRegistry(binary, r)));
  const registries: SandboxRegistry[] = [];
  const errors: string[] = [];
  for (const result of settled) {
    if (result.status === "fulfilled") registries.push(result.value);
    else errors.push(oneLine(result.reason));
  }
  for (const error of errors) log(`sandbox: ${error}`);
  return { registries, ...(errors.length ? { error: errors.join("; ") } : {}) };
}

/** Start again, on their recorded ports, the registries of a running sandbox whose process is gone. */
async function reviveRegistries(
  options: StartOptions,
  tools: SandboxTools,
  record: SandboxRecord,
  down: readonly string[],
): Promise<SandboxRecord> {
  if (!down.length) return record;
  const binary = tools.registry.binary;
  if (!binary) return record;
  const registries: SandboxRegistry[] = [];
  for (const r of record.registries ?? []) {
    if (!down.includes(r.name)) {
      registries.push(r);
      continue;
    }
    options.log(`sandbox: the ${r.name} registry on ${r.host} was gone; starting it again`);
    registries.push(await startRegistry(binary, r));
  }
  const revived: SandboxRecord = { ...record, registries };
  await writeFile(path.join(options.stateDir, RECORD), JSON.stringify(revived, null, 2));
  return revived;
}

/**
 * Stop the sandbox recorded in `stateDir` and its registries (SIGTERM, SIGKILL after 5 s); true if
 * the sandbox was running.
 */
export async function stopSandbox(stateDir: string): Promise<boolean> {
  const record = await readRecord(stateDir);
  if (!record) return false;
  let wasRunning = false;
  const registriesStopped = Promise.all((record.registries ?? []).map((r) => stopRegistry(r)));
  if (await isSandboxProcess(record.pid)) {
    wasRunning = true;
    process.kill(record.pid, "SIGTERM");
    const deadline = Date.now() + 5000;
    while (isAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(record.pid)) process.kill(record.pid, "SIGKILL");
  }
  await registriesStopped;
  await rm(path.join(stateDir, RECORD), { force: true });
  return wasRunning;
}
