/**
 * The image port (src/registry/resolver.ts): ECR names go to ECR (their region's client and
 * registry id when the name carries them), other names to the OCI client with the credentials of
 * `gantry:registries` (src/config/secrets.ts registryCredentials), read when a registry asks.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { EcrAdapter } from "../../../src/aws/ecr.ts";
import type { ResolvedImage } from "../../../src/aws/ports.ts";
import { validateConfig } from "../../../src/config/load.ts";
import { registryCredentials } from "../../../src/config/secrets.ts";
import { ConfigError } from "../../../src/errors.ts";
import { RegistryError } from "../../../src/registry/errors.ts";
import { ImageResolver } from "../../../src/registry/resolver.ts";

/** An ECR adapter that records its calls. */
function fakeEcr(region: string, calls: string[]): EcrAdapter {
  return {
    resolveTag: (
      repository: string,
      tag: string,
      registryId?: string,
    ): Promise<ResolvedImage | undefined> => {
      calls.push(`${region} ${repository}:${tag} ${registryId ?? "-"}`);
      return Promise.resolve(
        tag === "missing"
          ? undefined
          : {
              tag,
              digest: `sha256:${"e".repeat(64)}`,
              imageUri: `ecr/${repository}@sha256:${"e".repeat(64)}`,
            },
      );
    },
  } as unknown as EcrAdapter;
}

const config = (registries: Record<string, unknown>) =>
  validateConfig("dev", "/x/Pulumi.dev.yaml", {
    "aws:region": "eu-west-1",
    "platform:services": [{ name: "api" }],
    "gantry:registries": registries,
  });

let server: http.Server | undefined;
afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((resolve) => running.close(resolve));
});

describe("ImageResolver", () => {
  it.each([
    { image: "api", expected: "default api:v1 -" },
    { image: "team/api", expected: "default team/api:v1 -" },
    {
      image: "210987654321.dkr.ecr.eu-west-1.amazonaws.com/api",
      expected: "eu-west-1 api:v1 210987654321",
    },
  ])("GIVEN the ECR image $image WHEN resolved THEN ECR is asked: $expected", async ({ image, expected }) => {
    const calls: string[] = [];
    const resolver = new ImageResolver({
      ecr: (region) => Promise.resolve(fakeEcr(region ?? "default", calls)),
      credentials: () => undefined,
    });
    const resolved = await resolver.resolve(image, "v1");
    expect(calls).toEqual([expected]);
    expect(resolved?.tag).toBe("v1");
  });

  it("GIVEN a missing ECR tag WHEN resolved THEN undefined comes through", async () => {
    const resolver = new ImageResolver({
      ecr: () => Promise.resolve(fakeEcr("default", [])),
      credentials: () => undefined,
    });
    await expect(resolver.resolve("api", "missing")).resolves.toBeUndefined();
  });

  it("GIVEN an image in another registry WHEN resolved THEN the OCI client asks it, with the credentials of that host", async () => {
    const body = Buffer.from('{"schemaVersion":2}');
    const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    const seen: (string | undefined)[] = [];
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.headers.authorization === `Basic ${Buffer.from("u:pw-1234").toString("base64")}`) {
        res.writeHead(200, {
          "docker-content-digest": digest,
          "content-type": "application/vnd.oci.image.manifest.v1+json",
        });
        res.end();
        return;
      }
      res.writeHead(401, { "www-authenticate": "Basic realm=x" }).end();
    });
    await new Promise<void>((r) => server?.listen(0, "127.0.0.1", r));
    const host = `127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    const asked: string[] = [];
    const resolver = new ImageResolver({
      ecr: () => Promise.reject(new Error("ECR must not be asked")),
      credentials: (registry) => {
        asked.push(registry);
        return { username: "u", password: "pw-1234" };
      },
    });
    expect(await resolver.resolve(`${host}/org/api`, "v2")).toEqual({
      tag: "v2",
      digest,
      imageUri: `${host}/org/api@${digest}`,
    });
    expect(asked).toEqual([host]);
    expect(seen).toHaveLength(2);
  });

  it("GIVEN a value that is no image name WHEN resolved THEN IMAGE_NAME_INVALID", async () => {
    const resolver = new ImageResolver({
      ecr: () => Promise.reject(new Error("no")),
      credentials: () => undefined,
    });
    await expect(resolver.resolve("Bad Name", "v1")).rejects.toMatchObject({
      constructor: RegistryError,
      code: "IMAGE_NAME_INVALID",
    });
  });
});

describe("registryCredentials (gantry:registries)", () => {
  it("GIVEN no entry for the host THEN undefined", () => {
    expect(
      registryCredentials(config({ "ghcr.io": { password: { fromEnv: "GHCR_TOKEN" } } }), "quay.io", {}),
    ).toBeUndefined();
  });

  it("GIVEN a plain username and a secret password THEN both, and only the secret listed for the masker", () => {
    const found = registryCredentials(
      config({ "ghcr.io": { username: "octo", password: { fromEnv: "GHCR_TOKEN" } } }),
      "ghcr.io",
      { GHCR_TOKEN: "ghp_abcdef123456" },
    );
    expect(found).toEqual({ username: "octo", password: "ghp_abcdef123456", secrets: ["ghp_abcdef123456"] });
  });

  it("GIVEN a username from a secret with a prefix THEN the prefix is kept and the value is listed", () => {
    const found = registryCredentials(
      config({
        "127.0.0.1:5000": {
          username: { fromEnv: "REG_USER", prefix: "ci-" },
          password: { fromEnv: "REG_PW" },
        },
      }),
      "127.0.0.1:5000",
      { REG_USER: "robot", REG_PW: "pw-123456" },
    );
    expect(found).toEqual({ username: "ci-robot", password: "pw-123456", secrets: ["robot", "pw-123456"] });
  });

  it.each([
    {
      what: "unset",
      env: {},
      code: "SECRET_MISSING",
      message: /environment variable GHCR_TOKEN is not set$/,
    },
    {
      what: "empty (a missing CI secret)",
      env: { GHCR_TOKEN: "" },
      code: "SECRET_MISSING",
      message: /is not set$/,
    },
    {
      what: "too short to mask",
      env: { GHCR_TOKEN: "abc" },
      code: "SECRET_TOO_SHORT",
      message: /fewer than 4 characters/,
    },
  ])("GIVEN the password's variable $what THEN a ConfigError naming the key", ({ env, code, message }) => {
    const read = () =>
      registryCredentials(config({ "ghcr.io": { password: { fromEnv: "GHCR_TOKEN" } } }), "ghcr.io", env);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(message);
    try {
      read();
    } catch (err) {
      expect((err as ConfigError).code).toBe(code);
      expect((err as ConfigError).message).toMatch(
        /^Pulumi\.dev\.yaml: gantry:registries\."ghcr\.io"\.password: /,
      );
    }
  });
});
