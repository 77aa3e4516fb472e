/**
 * The sandbox's OCI registries (sandbox/SPEC.md R27): two CNCF Distribution registries on
 * 127.0.0.1, started and stopped with the sandbox — `basic` with htpasswd (Basic) auth and `token`
 * with Bearer auth through the token realm the sandbox server serves (R28). Both take the
 * sandbox-only credentials below. Their files live under `<stateDir>/registry/`: configs, keys,
 * logs and the stored images (kept across restarts; a reset of the sandbox does not empty them).
 */
import { spawn } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { SandboxError } from "../errors.ts";
import { tail } from "../tools/exec.ts";
import { isAlive } from "../tools/pid.ts";

/** The sandbox registries' user name: sandbox-only, documented (README "Registries"). */
export const SANDBOX_REGISTRY_USERNAME = "sandbox-user";
/** The sandbox registries' password: sandbox-only, documented (README "Registries"). */
export const SANDBOX_REGISTRY_PASSWORD = "sandbox-registry-password";
/**
 * bcrypt (cost 10) of {@link SANDBOX_REGISTRY_PASSWORD} for the htpasswd file, made once with
 * golang.org/x/crypto/bcrypt (the library the registry checks it with); the integration tests log
 * in with the password, so a wrong hash fails them.
 */
const PASSWORD_BCRYPT = "$2a$10$tagxWuF5qjwfU0uBGqN9mOBQEESTysTuh7WE2oZJfQRtWAv8D4TEG";
/** The `service` and `iss` of the token registry's Bearer tokens. */
const TOKEN_SERVICE = "gantry-sandbox-registry";
const TOKEN_ISSUER = "gantry-sandbox";

/** The two registries: how each authenticates. */
export const REGISTRY_NAMES = ["basic", "token"] as const;
/** One of {@link REGISTRY_NAMES}. */
export type RegistryName = (typeof REGISTRY_NAMES)[number];

/** A sandbox registry as the sandbox record keeps it. */
export interface SandboxRegistry {
  readonly name: RegistryName;
  /** `127.0.0.1:<port>`: the registry part of image names (`127.0.0.1:<port>/org/api`). */
  readonly host: string;
  readonly auth: "basic" | "bearer";
  /** The token realm (bearer only). */
  readonly realm?: string;
  readonly username: string;
  readonly password: string;
  readonly pid: number;
  readonly configFile: string;
  readonly logFile: string;
}

/** A registry planned by {@link prepareRegistries}, not started yet. */
export type PlannedRegistry = Omit<SandboxRegistry, "pid">;

/** What {@link prepareRegistries} wrote. */
export interface RegistryPlan {
  readonly registries: readonly PlannedRegistry[];
  /** The file the sandbox server reads with `--registries` (R27). */
  readonly serverFile: string;
}

/**
 * Write the registries' files under `<stateDir>/registry/` for a sandbox server on `serverPort`,
 * with the registries on `ports` (basic, token): htpasswd, a fresh ES256 signing key and its JWKS,
 * each registry's config, and the server's `--registries` file.
 */
export async function prepareRegistries(
  stateDir: string,
  serverPort: number,
  ports: readonly [number, number],
): Promise<RegistryPlan> {
  const dir = path.join(stateDir, "registry");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const htpasswd = path.join(dir, "htpasswd");
  await writeFile(htpasswd, `${SANDBOX_REGISTRY_USERNAME}:${PASSWORD_BCRYPT}\n`, { mode: 0o600 });
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const kid = randomBytes(8).toString("hex");
  const keyFile = path.join(dir, "token-key.pem");
  await writeFile(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  const jwks = path.join(dir, "jwks.json");
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "ES256" };
  await writeFile(jwks, JSON.stringify({ keys: [jwk] }, null, 2));
  const realm = `http://127.0.0.1:${String(serverPort)}/_gantry/registry/token`;

  const registries: PlannedRegistry[] = [];
  for (const [i, name] of REGISTRY_NAMES.entries()) {
    const host = `127.0.0.1:${String(ports[i])}`;
    const auth =
      name === "basic"
        ? { htpasswd: { realm: "gantry-sandbox", path: htpasswd } }
        : { token: { realm, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, jwks } };
    // The registry reads YAML; JSON is YAML.
    const config = {
      version: 0.1,
      log: { level: "warn", accesslog: { disabled: true }, formatter: "text" },
      storage: {
        filesystem: { rootdirectory: path.join(dir, name) },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: { addr: host, secret: randomBytes(16).toString("hex") },
      auth,
    };
    const configFile = path.join(dir, `${name}.json`);
    await writeFile(configFile, JSON.stringify(config, null, 2));
    registries.push({
      name,
      host,
      auth: name === "basic" ? "basic" : "bearer",
      ...(name === "token" ? { realm } : {}),
      username: SANDBOX_REGISTRY_USERNAME,
      password: SANDBOX_REGISTRY_PASSWORD,
      configFile,
      logFile: path.join(dir, `${name}.log`),
    });
  }
  const serverFile = path.join(dir, "server.json");
  await writeFile(
    serverFile,
    JSON.stringify(
      {
        username: SANDBOX_REGISTRY_USERNAME,
        password: SANDBOX_REGISTRY_PASSWORD,
        issuer: TOKEN_ISSUER,
        service: TOKEN_SERVICE,
        kid,
        keyFile,
        registries: registries.map((r) => ({
          name: r.name,
          host: r.host,
          auth: r.auth,
          ...(r.realm ? { realm: r.realm } : {}),
        })),
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  return { registries, serverFile };
}

/** True when `pid` is alive and is the registry serving `configFile` (guards against pid reuse). */
export async function isRegistryProcess(pid: number, configFile: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const cmdline = await readFile(`/proc/${String(pid)}/cmdline`, "utf8").catch(() => undefined);
  // No /proc (macOS): trust the pid.
  if (cmdline === undefined) return !existsSync("/proc/self");
  return cmdline.includes(configFile);
}

/**
 * Start `binary serve <config>` for a planned registry (detached: it outlives this command, like
 * the sandbox) and wait until it answers `GET /v2/`.
 * @throws SandboxError when it exits or does not answer within `readyTimeoutMs`.
 */
export async function startRegistry(
  binary: string,
  planned: PlannedRegistry,
  readyTimeoutMs = 15_000,
): Promise<SandboxRegistry> {
  await rename(planned.logFile, `${planned.logFile}.1`).catch(() => undefined);
  const log = await open(planned.logFile, "w");
  const child = spawn(binary, ["serve", planned.configFile], {
    detached: true,
    stdio: ["ignore", log.fd, log.fd],
    // No OpenTelemetry export: the registry would otherwise try an OTLP collector on localhost.
    env: { ...process.env, OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "none" },
  });
  let exited: number | null | undefined;
  child.on("exit", (code) => {
    exited = code;
  });
  child.unref();
  await log.close();
  const pid = child.pid;
  if (pid === undefined) {
    throw new SandboxError(`could not start the ${planned.name} registry`, { code: "REGISTRY_SPAWN_FAILED" });
  }
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited !== undefined) {
      const text = await readFile(planned.logFile, "utf8").catch(() => "");
      throw new SandboxError(
        `the sandbox's ${planned.name} registry exited during start (code ${String(exited)}): ${tail(text, 2)}`,
        { code: "REGISTRY_START_FAILED", hint: `see ${planned.logFile}` },
      );
    }
    const answered = await fetch(`http://${planned.host}/v2/`, { signal: AbortSignal.timeout(2000) }).then(
      (res) => res.status === 401 || res.ok,
      () => false,
    );
    if (answered) return { ...planned, pid };
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      throw new SandboxError(`the sandbox's ${planned.name} registry did not answer on ${planned.host}`, {
        code: "REGISTRY_START_TIMEOUT",
        hint: `see ${planned.logFile}`,
      });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stop a registry (SIGTERM, SIGKILL after 5 s); true if it was running. */
export async function stopRegistry(registry: SandboxRegistry): Promise<boolean> {
  if (!(await isRegistryProcess(registry.pid, registry.configFile))) return false;
  process.kill(registry.pid, "SIGTERM");
  const deadline = Date.now() + 5000;
  while (isAlive(registry.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(registry.pid)) process.kill(registry.pid, "SIGKILL");
  return true;
}
