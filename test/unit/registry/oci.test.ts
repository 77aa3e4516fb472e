/**
 * The OCI distribution client's decisions (src/registry/oci.ts), against a fake registry on
 * 127.0.0.1 that answers as each test says: HEAD vs GET, digests, the auth flows, retries,
 * platforms and every error code.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RegistryError } from "../../../src/registry/errors.ts";
import {
  MEDIA_TYPES,
  OciRegistryClient,
  registryOrigin,
  type RegistryLogin,
} from "../../../src/registry/oci.ts";

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: readonly Seen[]) => void;

interface Fake {
  readonly host: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

const servers: Fake[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fakeRegistry(handler: Handler): Promise<Fake> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    handler(req, res, seen);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fake: Fake = {
    host: `127.0.0.1:${String((server.address() as AddressInfo).port)}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
  servers.push(fake);
  return fake;
}

const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest }));
const MANIFEST_DIGEST = `sha256:${createHash("sha256").update(MANIFEST).digest("hex")}`;

function index(platforms: { os: string; architecture: string; variant?: string }[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: platforms.map((platform, i) => ({
        mediaType: MEDIA_TYPES.ociManifest,
        digest: `sha256:${String(i).repeat(64)}`,
        size: 10,
        platform,
      })),
    }),
  );
}

/** Answer a manifest request: headers always, the body for GET only. */
function manifest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
  options: { mediaType?: string; digest?: string | null } = {},
): void {
  const headers: Record<string, string> = {
    "content-type": options.mediaType ?? MEDIA_TYPES.ociManifest,
    "content-length": String(body.length),
  };
  const digest =
    options.digest === undefined
      ? `sha256:${createHash("sha256").update(body).digest("hex")}`
      : options.digest;
  if (digest !== null) headers["docker-content-digest"] = digest;
  res.writeHead(200, headers);
  res.end(req.method === "GET" ? body : undefined);
}

function client(login?: RegistryLogin, extra: { timeoutMs?: number } = {}): OciRegistryClient {
  return new OciRegistryClient({
    credentials: () => login,
    retries: 2,
    minRetryDelayMs: 5,
    ...extra,
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

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("OciRegistryClient.resolve", () => {
  it("GIVEN an open registry WHEN a tag is resolved THEN one HEAD with every manifest type in Accept, and the digest it names", async () => {
    const fake = await fakeRegistry((req, res) => {
      manifest(req, res, MANIFEST);
    });
    const image = await client().resolve(fake.host, "org/api", "v1.0.0");
    expect(image).toEqual({
      tag: "v1.0.0",
      digest: MANIFEST_DIGEST,
      imageUri: `${fake.host}/org/api@${MANIFEST_DIGEST}`,
    });
    expect(fake.seen.map((s) => `${s.method} ${s.url}`)).toEqual(["HEAD /v2/org/api/manifests/v1.0.0"]);
    const accept = String(fake.seen[0]?.headers.accept);
    for (const type of Object.values(MEDIA_TYPES)) expect(accept).toContain(type);
  });

  it("GIVEN a HEAD without Docker-Content-Digest WHEN resolved THEN the manifest is fetched and its sha256 is the digest", async () => {
    const fake = await fakeRegistry((req, res) => {
      manifest(req, res, MANIFEST, { digest: null });
    });
    const image = await client().resolve(fake.host, "api", "v1");
    expect(image?.digest).toBe(MANIFEST_DIGEST);
    expect(fake.seen.map((s) => s.method)).toEqual(["HEAD", "GET"]);
  });

  it("GIVEN no such tag WHEN resolved THEN undefined, not an error", async () => {
    const fake = await fakeRegistry((_req, res) => {
      res.writeHead(404).end();
    });
    await expect(client().resolve(fake.host, "org/api", "v9")).resolves.toBeUndefined();
  });

  describe("Basic authentication", () => {
    const registry = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      if (req.headers.authorization === basic("ci", "s3cret-token")) {
        manifest(req, res, MANIFEST);
        return;
      }
      res.writeHead(401, { "www-authenticate": 'Basic realm="Registry"' }).end();
    };

    it("GIVEN credentials WHEN the registry asks for Basic THEN the request is sent again with them", async () => {
      const fake = await fakeRegistry(registry);
      const image = await client({ username: "ci", password: "s3cret-token" }).resolve(
        fake.host,
        "api",
        "v1",
      );
      expect(image?.digest).toBe(MANIFEST_DIGEST);
      expect(fake.seen.map((s) => s.headers.authorization)).toEqual([undefined, basic("ci", "s3cret-token")]);
    });

    it("GIVEN no credentials WHEN the registry asks for them THEN REGISTRY_AUTH naming the key to set", async () => {
      const fake = await fakeRegistry(registry);
      const err = await failure(client().resolve(fake.host, "api", "v1"));
      expect(err.code).toBe("REGISTRY_AUTH");
      expect(err.source).toBe("user");
      expect(err.message).toBe(
        `${fake.host}/api:v1: ${fake.host} asks for credentials and gantry:registries."${fake.host}" has none`,
      );
      expect(err.hint).toContain(`gantry:registries."${fake.host}"`);
      expect(fake.seen).toHaveLength(1);
    });

    it("GIVEN wrong credentials WHEN refused THEN REGISTRY_AUTH saying to fix the username and password, after one retry only", async () => {
      const fake = await fakeRegistry(registry);
      const err = await failure(
        client({ username: "ci", password: "wrong-token" }).resolve(fake.host, "api", "v1"),
      );
      expect(err.code).toBe("REGISTRY_AUTH");
      expect(err.message).toContain(`refused the credentials of gantry:registries."${fake.host}" (HTTP 401)`);
      expect(err.hint).toBe(
        `fix gantry:registries."${fake.host}".username and gantry:registries."${fake.host}".password (the secret it names must hold a valid token or password)`,
      );
      expect(fake.seen).toHaveLength(2);
    });
  });

  describe("Bearer tokens", () => {
    /** A registry whose realm is its own /token, granting "tok-<user>" to the right Basic credentials or anonymously. */
    const registry = (options: { anonymous: boolean; denied?: boolean }): Handler => {
      return (req, res) => {
        const url = new URL(req.url ?? "", "http://x");
        const host = req.headers.host ?? "";
        if (url.pathname === "/token") {
          const who = req.headers.authorization;
          if (who === basic("ci", "s3cret-token")) {
            res
              .writeHead(200, { "content-type": "application/json" })
              .end(JSON.stringify({ token: "tok-ci" }));
          } else if (!who && options.anonymous) {
            res.writeHead(200).end(JSON.stringify({ access_token: "tok-anon" }));
          } else {
            res.writeHead(401).end();
          }
          return;
        }
        const auth = req.headers.authorization;
        if (auth === "Bearer tok-ci" || (auth === "Bearer tok-anon" && options.anonymous)) {
          if (options.denied) res.writeHead(403).end();
          else manifest(req, res, MANIFEST);
          return;
        }
        res
          .writeHead(401, {
            "www-authenticate": `Bearer realm="http://${host}/token",service="fake-registry",scope="repository:org/api:pull"`,
          })
          .end();
      };
    };

    it("GIVEN credentials WHEN the registry names a realm THEN a token is asked there with Basic credentials, the service and the scope, and used", async () => {
      const fake = await fakeRegistry(registry({ anonymous: false }));
      const image = await client({ username: "ci", password: "s3cret-token" }).resolve(
        fake.host,
        "org/api",
        "v1",
      );
      expect(image?.digest).toBe(MANIFEST_DIGEST);
      const [first, token, again] = fake.seen;
      expect(first?.headers.authorization).toBeUndefined();
      const tokenUrl = new URL(token?.url ?? "", "http://x");
      expect(tokenUrl.pathname).toBe("/token");
      expect(Object.fromEntries(tokenUrl.searchParams)).toEqual({
        service: "fake-registry",
        scope: "repository:org/api:pull",
      });
      expect(token?.headers.authorization).toBe(basic("ci", "s3cret-token"));
      expect(again?.headers.authorization).toBe("Bearer tok-ci");
    });

    it("GIVEN no credentials and a public image WHEN resolved THEN an anonymous token (access_token) does", async () => {
      const fake = await fakeRegistry(registry({ anonymous: true }));
      const image = await client().resolve(fake.host, "org/api", "v1");
      expect(image?.digest).toBe(MANIFEST_DIGEST);
      expect(fake.seen[1]?.headers.authorization).toBeUndefined();
      expect(fake.seen[2]?.headers.authorization).toBe("Bearer tok-anon");
    });

    it("GIVEN a token WHEN the same repository is resolved again THEN the token is reused, not asked again", async () => {
      const fake = await fakeRegistry(registry({ anonymous: false }));
      const oci = client({ username: "ci", password: "s3cret-token" });
      await oci.resolve(fake.host, "org/api", "v1");
      await oci.resolve(fake.host, "org/api", "v2");
      expect(fake.seen.filter((s) => s.url.startsWith("/token"))).toHaveLength(1);
      expect(fake.seen.at(-1)?.headers.authorization).toBe("Bearer tok-ci");
    });

    it("GIVEN wrong credentials WHEN the realm refuses them THEN REGISTRY_AUTH naming its token service", async () => {
      const fake = await fakeRegistry(registry({ anonymous: false }));
      const err = await failure(
        client({ username: "ci", password: "nope-nope" }).resolve(fake.host, "org/api", "v1"),
      );
      expect(err.code).toBe("REGISTRY_AUTH");
      expect(err.message).toBe(
        `${fake.host}/org/api:v1: its token service refused the credentials of gantry:registries."${fake.host}" (HTTP 401)`,
      );
    });

    it("GIVEN a token without read access WHEN the registry answers 403 THEN REGISTRY_AUTH saying which repository needs access", async () => {
      const fake = await fakeRegistry(registry({ anonymous: false, denied: true }));
      const err = await failure(
        client({ username: "ci", password: "s3cret-token" }).resolve(fake.host, "org/api", "v1"),
      );
      expect(err.code).toBe("REGISTRY_AUTH");
      expect(err.hint).toBe(
        `give the credentials of gantry:registries."${fake.host}" read access to org/api`,
      );
    });

    it("GIVEN credentials and a plain-HTTP realm on another host WHEN challenged THEN REGISTRY_AUTH and nothing is sent there", async () => {
      const fake = await fakeRegistry((_req, res) => {
        res.writeHead(401, { "www-authenticate": 'Bearer realm="http://auth.example.invalid/token"' }).end();
      });
      const err = await failure(
        client({ username: "ci", password: "s3cret-token" }).resolve(fake.host, "org/api", "v1"),
      );
      expect(err.code).toBe("REGISTRY_AUTH");
      expect(err.hint).toBe("a registry's token realm must be an https:// URL");
    });

    it("GIVEN a realm answering without a token WHEN challenged THEN REGISTRY_AUTH", async () => {
      const fake = await fakeRegistry((req, res) => {
        if (req.url?.startsWith("/token")) {
          res.writeHead(200).end("{}");
          return;
        }
        res
          .writeHead(401, { "www-authenticate": `Bearer realm="http://${req.headers.host ?? ""}/token"` })
          .end();
      });
      const err = await failure(client().resolve(fake.host, "org/api", "v1"));
      expect(err.code).toBe("REGISTRY_AUTH");
      expect(err.message).toContain("answered without a token");
    });
  });

  it("GIVEN a challenge in an unknown scheme WHEN resolved THEN REGISTRY_AUTH naming it", async () => {
    const fake = await fakeRegistry((_req, res) => {
      res.writeHead(401, { "www-authenticate": "Negotiate abc==" }).end();
    });
    const err = await failure(client({ username: "a", password: "bbbb" }).resolve(fake.host, "api", "v1"));
    expect(err.code).toBe("REGISTRY_AUTH");
    expect(err.message).toContain("asks for an authentication gantry does not speak (Negotiate abc==)");
  });

  describe("platforms", () => {
    it.each([
      { type: MEDIA_TYPES.ociIndex, name: "an OCI index" },
      { type: MEDIA_TYPES.dockerList, name: "a Docker manifest list" },
    ])(
      "GIVEN $name with linux/amd64 WHEN resolved THEN the index's own digest (ECS picks the platform)",
      async ({ type }) => {
        const body = index([
          { os: "linux", architecture: "arm64", variant: "v8" },
          { os: "linux", architecture: "amd64" },
        ]);
        const fake = await fakeRegistry((req, res) => {
          manifest(req, res, body, { mediaType: type });
        });
        const image = await client().resolve(fake.host, "api", "v1");
        expect(image?.digest).toBe(`sha256:${createHash("sha256").update(body).digest("hex")}`);
        expect(fake.seen.map((s) => s.method)).toEqual(["HEAD", "GET"]);
      },
    );

    it("GIVEN an index without linux/amd64 WHEN resolved THEN WRONG_PLATFORM naming the platforms it has (attestations left out)", async () => {
      const body = index([
        { os: "linux", architecture: "arm64", variant: "v8" },
        { os: "windows", architecture: "amd64" },
        { os: "unknown", architecture: "unknown" },
      ]);
      const fake = await fakeRegistry((req, res) => {
        manifest(req, res, body, { mediaType: MEDIA_TYPES.ociIndex });
      });
      const err = await failure(client().resolve(fake.host, "org/api", "v1"));
      expect(err.code).toBe("WRONG_PLATFORM");
      expect(err.message).toBe(
        `${fake.host}/org/api:v1 has no linux/amd64 image (it has linux/arm64/v8, windows/amd64)`,
      );
      expect(err.hint).toContain("--platform linux/amd64");
    });
  });

  describe("transient failures", () => {
    it("GIVEN a 503 then a 429 WHEN resolved THEN retried, and the third answer counts", async () => {
      const fake = await fakeRegistry((req, res, seen) => {
        if (seen.length === 1) res.writeHead(503).end();
        else if (seen.length === 2) res.writeHead(429).end();
        else manifest(req, res, MANIFEST);
      });
      expect((await client().resolve(fake.host, "api", "v1"))?.digest).toBe(MANIFEST_DIGEST);
      expect(fake.seen).toHaveLength(3);
    });

    it("GIVEN a registry that keeps answering 502 WHEN resolved THEN REGISTRY_UNREACHABLE after 1 + 2 retries", async () => {
      const fake = await fakeRegistry((_req, res) => {
        res.writeHead(502).end();
      });
      const err = await failure(client().resolve(fake.host, "api", "v1"));
      expect(err.code).toBe("REGISTRY_UNREACHABLE");
      expect(err.message).toBe(`${fake.host}/api:v1: ${fake.host} answered HTTP 502, also when asked again`);
      expect(fake.seen).toHaveLength(3);
    });

    it("GIVEN another 4xx WHEN resolved THEN REGISTRY_REFUSED at once, no retry", async () => {
      const fake = await fakeRegistry((_req, res) => {
        res.writeHead(400).end();
      });
      const err = await failure(client().resolve(fake.host, "api", "v1"));
      expect(err.code).toBe("REGISTRY_REFUSED");
      expect(fake.seen).toHaveLength(1);
    });
  });

  describe("unreachable", () => {
    it("GIVEN nothing listening WHEN resolved THEN REGISTRY_UNREACHABLE (connection refused), not retried", async () => {
      const fake = await fakeRegistry((_req, res) => res.end());
      const host = fake.host;
      await fake.close();
      const err = await failure(client().resolve(host, "org/api", "v1"));
      expect(err.code).toBe("REGISTRY_UNREACHABLE");
      expect(err.message).toBe(`${host}/org/api:v1: cannot reach ${host} (ECONNREFUSED)`);
      expect(err.hint).toContain(`http://${host}`);
    });

    it("GIVEN a registry that never answers WHEN resolved THEN REGISTRY_UNREACHABLE within the deadline", async () => {
      const fake = await fakeRegistry(() => undefined);
      const started = Date.now();
      const err = await failure(client(undefined, { timeoutMs: 200 }).resolve(fake.host, "api", "v1"));
      expect(err.code).toBe("REGISTRY_UNREACHABLE");
      expect(err.message).toContain("no answer within 0.2 s");
      expect(Date.now() - started).toBeLessThan(2000);
      expect(fake.seen).toHaveLength(1);
    });
  });
});

describe("registryOrigin", () => {
  it.each([
    ["ghcr.io", "https://ghcr.io"],
    ["registry.example.com:5000", "https://registry.example.com:5000"],
    ["docker.io", "https://registry-1.docker.io"],
    ["127.0.0.1:5000", "http://127.0.0.1:5000"],
    ["localhost:5000", "http://localhost:5000"],
  ])("GIVEN images of %s THEN the API is asked at %s", (registry, origin) => {
    expect(registryOrigin(registry)).toBe(origin);
  });
});
