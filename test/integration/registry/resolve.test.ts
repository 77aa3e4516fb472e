/**
 * Image resolution against the REAL registry (src/registry/): the CNCF Distribution registries the
 * shared sandbox runs (sandbox/SPEC.md R27), one with Basic auth and one with Bearer tokens from
 * the sandbox's realm, with images published through the control API (R29). Credentials come the
 * way a deploy reads them: `gantry:registries` in the config, the password from the environment.
 */
import net from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import type { EcrAdapter } from "../../../src/aws/ecr.ts";
import { validateConfig } from "../../../src/config/load.ts";
import { registryCredentials } from "../../../src/config/secrets.ts";
import { RegistryError } from "../../../src/registry/errors.ts";
import { ImageResolver } from "../../../src/registry/resolver.ts";
import { SandboxControl, type SandboxRegistryInfo } from "../../../src/sandbox/control.ts";
import { uid } from "../sandbox/helpers.ts";

const control = new SandboxControl(workerSandbox().endpoint);
let registries: SandboxRegistryInfo[];

beforeAll(async () => {
  registries = await control.registries();
  expect(registries.map((r) => r.name).sort()).toEqual(["basic", "token"]);
});

/** The resolver a deploy of an environment with `gantry:registries[host]` would use, reading `env`. */
function resolverFor(host: string, password: string | undefined): ImageResolver {
  const config = validateConfig("dev", "/x/Pulumi.dev.yaml", {
    "aws:region": "us-east-1",
    "platform:services": [{ name: "api" }],
    ...(password === undefined
      ? {}
      : {
          "gantry:registries": {
            [host]: { username: "sandbox-user", password: { fromEnv: "SANDBOX_REGISTRY_PASSWORD" } },
          },
        }),
  });
  const env = password === undefined ? {} : { SANDBOX_REGISTRY_PASSWORD: password };
  return new ImageResolver({
    ecr: () => Promise.reject<EcrAdapter>(new Error("not an ECR image")),
    credentials: (registry) => registryCredentials(config, registry, env),
    oci: { retries: 1, minRetryDelayMs: 10, timeoutMs: 5000 },
  });
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RegistryError);
  return err as RegistryError;
}

describe.each(["basic", "token"])("the sandbox's %s registry", (name) => {
  let registry: SandboxRegistryInfo;
  beforeAll(() => {
    const found = registries.find((r) => r.name === name);
    if (!found) throw new Error(`no ${name} registry`);
    registry = found;
  });

  it("GIVEN published tags WHEN resolved with the sandbox credentials THEN each tag's digest, deployable as registry/name@digest", async () => {
    const image = `${registry.host}/${uid("org")}/api`;
    const published = await control.publishRegistryImages(image, ["v1.0.0", "v1.1.0"]);
    const resolver = resolverFor(registry.host, registry.password);
    for (const p of published) {
      expect(await resolver.resolve(image, p.tag)).toEqual({
        tag: p.tag,
        digest: p.digest,
        imageUri: `${image}@${p.digest}`,
      });
    }
    expect(published[0]?.digest).not.toBe(published[1]?.digest);
  });

  it("GIVEN a tag never published WHEN resolved THEN undefined (the caller lists it as missing)", async () => {
    const image = `${registry.host}/${uid("org")}/api`;
    await control.publishRegistryImages(image, ["v1.0.0"]);
    await expect(
      resolverFor(registry.host, registry.password).resolve(image, "v9.9.9"),
    ).resolves.toBeUndefined();
  });

  it("GIVEN a wrong password WHEN resolved THEN REGISTRY_AUTH naming the credentials key", async () => {
    const image = `${registry.host}/${uid("org")}/api`;
    await control.publishRegistryImages(image, ["v1.0.0"]);
    const err = await failure(resolverFor(registry.host, "not-the-password").resolve(image, "v1.0.0"));
    expect(err.code).toBe("REGISTRY_AUTH");
    expect(err.source).toBe("user");
    expect(err.message).toContain(`${image}:v1.0.0: `);
    expect(err.message).toContain(`refused the credentials of gantry:registries."${registry.host}"`);
  });

  it("GIVEN no credentials configured WHEN resolved THEN REGISTRY_AUTH saying which key to set", async () => {
    const image = `${registry.host}/${uid("org")}/api`;
    await control.publishRegistryImages(image, ["v1.0.0"]);
    const err = await failure(resolverFor(registry.host, undefined).resolve(image, "v1.0.0"));
    expect(err.code).toBe("REGISTRY_AUTH");
    expect(err.message).toBe(
      `${image}:v1.0.0: ${registry.host} asks for credentials and gantry:registries."${registry.host}" has none`,
    );
  });

  it("GIVEN an index without linux/amd64 WHEN resolved THEN WRONG_PLATFORM naming what it has", async () => {
    const image = `${registry.host}/${uid("org")}/api`;
    await control.publishRegistryImages(image, ["v1.0.0"], ["linux/arm64/v8", "linux/arm/v7"]);
    const err = await failure(resolverFor(registry.host, registry.password).resolve(image, "v1.0.0"));
    expect(err.code).toBe("WRONG_PLATFORM");
    expect(err.message).toBe(
      `${image}:v1.0.0 has no linux/amd64 image (it has linux/arm64/v8, linux/arm/v7)`,
    );
  });

  it("GIVEN an index with linux/amd64 WHEN resolved THEN the index's own digest", async () => {
    const image = `${registry.host}/${uid("org")}/api`;
    const [published] = await control.publishRegistryImages(
      image,
      ["v2.0.0"],
      ["linux/arm64", "linux/amd64"],
    );
    const resolved = await resolverFor(registry.host, registry.password).resolve(image, "v2.0.0");
    expect(resolved?.digest).toBe(published?.digest);
  });
});

describe("an unreachable registry", () => {
  it("GIVEN nothing listening on the port WHEN resolved THEN REGISTRY_UNREACHABLE naming the image and the host", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const host = `127.0.0.1:${String((server.address() as net.AddressInfo).port)}`;
    await new Promise((resolve) => server.close(resolve));
    const err = await failure(resolverFor(host, "whatever-pw").resolve(`${host}/org/api`, "v1.0.0"));
    expect(err.code).toBe("REGISTRY_UNREACHABLE");
    expect(err.message).toBe(`${host}/org/api:v1.0.0: cannot reach ${host} (ECONNREFUSED)`);
  });
});
