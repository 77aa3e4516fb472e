/**
 * The image port as src/app/environment.ts wires it for a deploy: an environment on the sandbox
 * whose service image lives in the sandbox's token registry, with `gantry:registries` naming the
 * credentials, the password read from gantry's environment when the registry asks for it and
 * registered with the run's masker.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { parse, stringify } from "yaml";
import { wireEnvironment } from "../../../src/app/environment.ts";
import { AwsClientFactory } from "../../../src/aws/factory.ts";
import { runtimePaths } from "../../../src/config/runtime.ts";
import { ConfigError } from "../../../src/errors.ts";
import { SecretMasker } from "../../../src/reporting/mask.ts";
import { SandboxControl, type SandboxRegistryInfo } from "../../../src/sandbox/control.ts";
import { projectRoot } from "../../../src/tools/paths.ts";
import { uid } from "../sandbox/helpers.ts";

const VAR = "GANTRY_IT_REGISTRY_PASSWORD";
let stateDir: string;
let registry: SandboxRegistryInfo;
let image: string;
const clients = new AwsClientFactory();

beforeAll(async () => {
  const control = new SandboxControl(workerSandbox().endpoint);
  const token = (await control.registries()).find((r) => r.name === "token");
  if (!token) throw new Error("the sandbox runs no token registry");
  registry = token;
  image = `${registry.host}/${uid("org")}/api`;
  await control.publishRegistryImages(image, ["v1.0.0"]);
  stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-registry-wiring-"));
  // The shared sandbox, reused through its record.
  await copyFile(path.join(workerSandbox().dir, "sandbox.json"), path.join(stateDir, "sandbox.json"));
  const committed = parse(await readFile(path.join(projectRoot, "Pulumi.sandbox.yaml"), "utf8")) as {
    config: Record<string, unknown>;
  };
  committed.config["platform:services"] = [{ name: "api", image }];
  committed.config["gantry:registries"] = {
    [registry.host]: { username: registry.username, password: { fromEnv: VAR } },
  };
  await mkdir(path.join(stateDir, "config"));
  await writeFile(path.join(stateDir, "config", "Pulumi.sandbox.yaml"), stringify(committed));
});

afterEach(() => {
  Reflect.deleteProperty(process.env, VAR);
});

afterAll(async () => {
  clients.destroy();
  await rm(stateDir, { recursive: true, force: true });
});

function wire(masker: SecretMasker) {
  return wireEnvironment(
    {
      paths: runtimePaths({ GANTRY_SANDBOX_DIR: stateDir, GANTRY_CONFIG_DIR: path.join(stateDir, "config") }),
      reporter: { emit: () => undefined },
      aws: clients,
      masker,
    },
    "sandbox",
  );
}

describe("the wired image port", () => {
  it("GIVEN the password in gantry's environment WHEN the registry image is resolved THEN its digest, and the password is masked from then on", async () => {
    process.env[VAR] = registry.password;
    const masker = new SecretMasker();
    const wired = await wire(masker);
    expect(masker.redact(`pw=${registry.password}`)).toBe(`pw=${registry.password}`);
    const resolved = await wired.ports.images.resolve(image, "v1.0.0");
    expect(resolved?.imageUri).toBe(`${image}@${resolved?.digest ?? ""}`);
    expect(masker.redact(`pw=${registry.password}`)).toBe("pw=***");
    expect(masker.redact(`user=${registry.username}`)).toBe(`user=${registry.username}`);
  });

  it("GIVEN the password's variable unset WHEN the registry asks for credentials THEN SECRET_MISSING naming the key", async () => {
    const wired = await wire(new SecretMasker());
    const err = await wired.ports.images.resolve(image, "v1.0.0").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe("SECRET_MISSING");
    expect((err as ConfigError).message).toBe(
      `Pulumi.sandbox.yaml: gantry:registries."${registry.host}".password: environment variable ${VAR} is not set`,
    );
  });
});
