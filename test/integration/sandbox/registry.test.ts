/**
 * The sandbox's OCI registries (sandbox/SPEC.md), observed through their own distribution API,
 * the control API and the CLI.
 * Rules covered: R27 (two registries on 127.0.0.1 started and stopped with the sandbox, listed
 * with their sandbox-only credentials, a dead one started again, content kept), R28 (the token
 * realm), R29 (publishing small real images, indexes, errors), R12 (the tag of a registry image
 * by digest), R1 (an unreadable --registries file).
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../../helpers/sandbox.ts";
import { SandboxControl, type SandboxRegistryInfo } from "../../../src/sandbox/control.ts";
import { sandboxStatus, startSandbox, stopSandbox } from "../../../src/sandbox/process.ts";
import { toolsDir } from "../../../src/tools/paths.ts";
import { runGantry } from "../../helpers/cli.ts";
import { gantry, getHealth, provisionService, spawnSandbox, uid } from "./helpers.ts";

const endpoint = workerSandbox().endpoint;
const control = new SandboxControl(endpoint);
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const USER = "sandbox-user";
const PASSWORD = "sandbox-registry-password";
const basicAuth = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const sha = (data: Buffer): string => `sha256:${createHash("sha256").update(data).digest("hex")}`;

let registries: SandboxRegistryInfo[];
let basic: SandboxRegistryInfo;
let token: SandboxRegistryInfo;

beforeAll(async () => {
  registries = await control.registries();
  basic = registries.find((r) => r.name === "basic")!;
  token = registries.find((r) => r.name === "token")!;
});

/** GET from the basic registry with the sandbox credentials. */
async function pull(urlPath: string, accept = `${OCI_MANIFEST}, ${OCI_INDEX}`): Promise<Response> {
  return fetch(`http://${basic.host}${urlPath}`, {
    headers: { authorization: basicAuth(USER, PASSWORD), accept },
    signal: AbortSignal.timeout(10_000),
  });
}

/** The files of an uncompressed (ustar) tar. */
function untar(tar: Buffer): Record<string, string> {
  const files: Record<string, string> = {};
  for (let at = 0; at + 512 <= tar.length;) {
    const name = tar
      .subarray(at, at + 100)
      .toString("utf8")
      .replace(/\0.*$/s, "");
    if (!name) break;
    const size = parseInt(
      tar
        .subarray(at + 124, at + 136)
        .toString("utf8")
        .replace(/\0.*$/s, "")
        .trim(),
      8,
    );
    files[name] = tar.subarray(at + 512, at + 512 + size).toString("utf8");
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** Local addresses listening on `port` (IPv4 dotted, or "v6:<hex>"). */
async function listeners(port: number): Promise<string[]> {
  const out: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = await readFile(file, "utf8").catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== "0A") continue;
      const [addr, portHex] = cols[1]!.split(":");
      if (parseInt(portHex!, 16) !== port) continue;
      if (file.endsWith("tcp6")) out.push(`v6:${addr}`);
      else out.push([0, 1, 2, 3].map((i) => parseInt(addr!.slice(6 - 2 * i, 8 - 2 * i), 16)).join("."));
    }
  }
  return out;
}

function connectable(host: string): Promise<boolean> {
  const [address, port] = host.split(":");
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port: Number(port) });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

// ---------------------------------------------------------------------------------------------
describe("R27 registries", () => {
  it("GIVEN the sandbox WHEN GET /_gantry/registries THEN basic and token on 127.0.0.1 with the sandbox-only credentials", () => {
    expect(registries).toEqual([
      {
        name: "basic",
        host: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown,
        auth: "basic",
        username: USER,
        password: PASSWORD,
      },
      {
        name: "token",
        host: expect.stringMatching(/^127\.0\.0\.1:\d+$/) as unknown,
        auth: "bearer",
        username: USER,
        password: PASSWORD,
        realm: `${endpoint}/_gantry/registry/token`,
      },
    ]);
  });

  it("GIVEN each registry WHEN /v2/ is asked without credentials THEN it challenges the way R27 says, and listens on 127.0.0.1 only", async () => {
    const basicAnswer = await fetch(`http://${basic.host}/v2/`);
    expect(basicAnswer.status).toBe(401);
    expect(basicAnswer.headers.get("www-authenticate")).toBe('Basic realm="gantry-sandbox"');
    const tokenAnswer = await fetch(`http://${token.host}/v2/`);
    expect(tokenAnswer.status).toBe(401);
    expect(tokenAnswer.headers.get("www-authenticate")).toBe(
      `Bearer realm="${endpoint}/_gantry/registry/token",service="gantry-sandbox-registry"`,
    );
    for (const r of registries) {
      expect(await listeners(Number(r.host.split(":")[1]))).toEqual(["127.0.0.1"]);
    }
  });

  it("GIVEN wrong Basic credentials WHEN the basic registry is asked THEN 401", async () => {
    const res = await fetch(`http://${basic.host}/v2/`, {
      headers: { authorization: basicAuth(USER, "nope") },
    });
    expect(res.status).toBe(401);
    const ok = await fetch(`http://${basic.host}/v2/`, {
      headers: { authorization: basicAuth(USER, PASSWORD) },
    });
    expect(ok.status).toBe(200);
  });

  describe("a sandbox of its own", () => {
    let stateDir: string;
    beforeAll(async () => {
      stateDir = await mkdtemp(path.join(os.tmpdir(), "gantry-registry-"));
    });
    afterAll(async () => {
      await stopSandbox(stateDir);
      await rm(stateDir, { recursive: true, force: true });
    });

    it("GIVEN a start WHEN a registry dies and the sandbox is reused THEN it is back on its port with its images; WHEN stopped THEN both are gone", async () => {
      const log = (): void => undefined;
      const started = await startSandbox({ stateDir, toolsDir, log });
      expect(started.registries?.map((r) => r.name)).toEqual(["basic", "token"]);
      const status = await runGantry({ GANTRY_SANDBOX_DIR: stateDir }, "sandbox", "status", "--json");
      expect(status.code).toBe(0);
      const listed = (JSON.parse(status.stdout) as { registries: Record<string, unknown>[] }).registries;
      expect(listed.map((r) => [r.name, r.host, r.auth, r.username, r.password, r.running])).toEqual(
        started.registries?.map((r) => [r.name, r.host, r.auth, USER, PASSWORD, true]),
      );

      const own = started.registries!.find((r) => r.name === "basic")!;
      const image = `${own.host}/org/web`;
      const published = await runGantry(
        { GANTRY_SANDBOX_DIR: stateDir },
        "sandbox",
        "image",
        "v1.0.0",
        "--image",
        image,
        "--json",
      );
      expect(published.code).toBe(0);
      const [first] = JSON.parse(published.stdout) as { tag: string; digest: string; imageUri: string }[];
      expect(first).toEqual({
        tag: "v1.0.0",
        digest: expect.stringMatching(/^sha256:/) as unknown,
        imageUri: `${image}@${first!.digest}`,
      });

      process.kill(own.pid, "SIGKILL");
      await expect.poll(async () => (await sandboxStatus(stateDir)).registriesDown).toEqual(["basic"]);
      const reused = await startSandbox({ stateDir, toolsDir, log });
      expect(reused.reused).toBe(true);
      const revived = reused.registries!.find((r) => r.name === "basic")!;
      expect(revived.host).toBe(own.host);
      expect(revived.pid).not.toBe(own.pid);
      const head = await fetch(`http://${own.host}/v2/org/web/manifests/v1.0.0`, {
        method: "HEAD",
        headers: { authorization: basicAuth(USER, PASSWORD), accept: OCI_MANIFEST },
      });
      expect(head.headers.get("docker-content-digest")).toBe(first!.digest);

      expect(await stopSandbox(stateDir)).toBe(true);
      for (const r of reused.registries!) expect(await connectable(r.host)).toBe(false);
    });
  });

  it("GIVEN an unreadable --registries file WHEN server.py starts THEN exit 1 with one line naming it, no READY", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-registries-"));
    const file = path.join(dir, "server.json");
    await writeFile(file, "{not json");
    const sandbox = await spawnSandbox(["--port", "0", "--registries", file]);
    try {
      const exit = await sandbox.exited;
      expect(exit.code).toBe(1);
      expect(sandbox.stdout()).toBe("");
      expect(sandbox.stderr().trim().split("\n").at(-1)).toMatch(
        new RegExp(`^gantry-sandbox: cannot read --registries ${file.replace(/[.]/g, "\\.")}: `),
      );
    } finally {
      await sandbox.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe("R28 token realm", () => {
  const realm = (query: string, authorization?: string) =>
    fetch(`${endpoint}/_gantry/registry/token?${query}`, {
      headers: authorization ? { authorization } : {},
      signal: AbortSignal.timeout(10_000),
    });
  const decode = (part: string): Record<string, unknown> =>
    JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

  it.each([
    { what: "no credentials", authorization: undefined },
    { what: "a wrong password", authorization: basicAuth(USER, "wrong-password") },
    { what: "a wrong user", authorization: basicAuth("someone", PASSWORD) },
    { what: "a Bearer header", authorization: "Bearer abc" },
  ])(
    "GIVEN $what WHEN a token is asked THEN 401 with a Basic challenge and an R7 body",
    async ({ authorization }) => {
      const res = await realm("service=gantry-sandbox-registry&scope=repository:org/api:pull", authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Basic realm="gantry-sandbox registry token"');
      const body = (await res.json()) as { error: string; hint: string };
      expect(body.error).toBeTruthy();
      expect(body.hint).toBeTruthy();
    },
  );

  it.each([
    { what: "another service", query: "service=ghcr.io&scope=repository:org/api:pull" },
    { what: "a malformed scope", query: "service=gantry-sandbox-registry&scope=org" },
  ])("GIVEN $what WHEN a token is asked THEN 400", async ({ query }) => {
    expect((await realm(query, basicAuth(USER, PASSWORD))).status).toBe(400);
  });

  it("GIVEN the sandbox credentials and two scopes WHEN a token is asked THEN an ES256 JWT with the claims of R28 that the token registry accepts", async () => {
    const name = `${uid("org")}/api`;
    await control.publishRegistryImages(`${token.host}/${name}`, ["v1"]);
    const before = Math.floor(Date.now() / 1000);
    const res = await realm(
      `service=gantry-sandbox-registry&scope=repository:${name}:pull,push,bogus&scope=${encodeURIComponent("repository:other/x:pull registry:catalog:*")}`,
      basicAuth(USER, PASSWORD),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      token: string;
      access_token: string;
      expires_in: number;
      issued_at: string;
    };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    const [header, claims, signature] = body.token.split(".");
    expect(decode(header!)).toEqual({
      alg: "ES256",
      typ: "JWT",
      kid: expect.stringMatching(/^[0-9a-f]{16}$/) as unknown,
    });
    const c = decode(claims!);
    expect(c).toMatchObject({
      iss: "gantry-sandbox",
      sub: USER,
      aud: "gantry-sandbox-registry",
      jti: expect.any(String) as unknown,
    });
    expect(c.iat).toBeGreaterThanOrEqual(before - 1);
    expect(c.nbf).toBe((c.iat as number) - 1);
    expect(c.exp).toBe((c.iat as number) + 300);
    expect(new Date(body.issued_at).getTime() / 1000).toBe(c.iat);
    expect(c.access).toEqual([
      { type: "repository", name, actions: ["pull", "push"] },
      { type: "repository", name: "other/x", actions: ["pull"] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ]);
    expect(Buffer.from(signature!, "base64url")).toHaveLength(64);

    const tags = await fetch(`http://${token.host}/v2/${name}/tags/list`, {
      headers: { authorization: `Bearer ${body.token}` },
    });
    expect(tags.status).toBe(200);
    expect(await tags.json()).toEqual({ name, tags: ["v1"] });
    // A token for other repositories does not open this one.
    const other = (await (
      await realm("scope=repository:other/x:pull", basicAuth(USER, PASSWORD))
    ).json()) as {
      token: string;
    };
    const denied = await fetch(`http://${token.host}/v2/${name}/tags/list`, {
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect(denied.status).toBe(401);
  });
});

// ---------------------------------------------------------------------------------------------
describe("R29 publishing to a registry", () => {
  it("GIVEN tags WHEN published to the basic registry THEN per tag a real image: layer with VERSION, config, annotated OCI manifest, its digest", async () => {
    const name = `${uid("org")}/api`;
    const image = `${basic.host}/${name}`;
    const res = await gantry<{ images: { tag: string; digest: string; imageUri: string }[] }>(
      endpoint,
      "POST",
      "images",
      {
        image,
        tags: ["v2.0.0", "v1.0.0"],
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.images.map((i) => i.tag)).toEqual(["v2.0.0", "v1.0.0"]);
    for (const published of res.body.images) {
      expect(published.imageUri).toBe(`${image}@${published.digest}`);
      const answer = await pull(`/v2/${name}/manifests/${published.tag}`);
      expect(answer.headers.get("content-type")).toBe(OCI_MANIFEST);
      const raw = Buffer.from(await answer.arrayBuffer());
      expect(sha(raw)).toBe(published.digest);
      const manifest = JSON.parse(raw.toString("utf8")) as {
        mediaType: string;
        config: { mediaType: string; digest: string; size: number };
        layers: { mediaType: string; digest: string; size: number }[];
        annotations: Record<string, string>;
      };
      expect(manifest.mediaType).toBe(OCI_MANIFEST);
      expect(manifest.annotations).toEqual({
        "org.opencontainers.image.version": published.tag,
        "org.opencontainers.image.title": name,
      });
      const config = Buffer.from(
        await (await pull(`/v2/${name}/blobs/${manifest.config.digest}`, "*/*")).arrayBuffer(),
      );
      expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
      expect(sha(config)).toBe(manifest.config.digest);
      expect(config).toHaveLength(manifest.config.size);
      const layerRef = manifest.layers[0]!;
      expect(manifest.layers).toHaveLength(1);
      expect(layerRef.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
      const layer = Buffer.from(
        await (await pull(`/v2/${name}/blobs/${layerRef.digest}`, "*/*")).arrayBuffer(),
      );
      expect(sha(layer)).toBe(layerRef.digest);
      const tar = gunzipSync(layer);
      expect(untar(tar)).toEqual({ VERSION: `${published.tag}\n` });
      expect(JSON.parse(config.toString("utf8"))).toEqual({
        architecture: "amd64",
        os: "linux",
        config: { Labels: { "org.opencontainers.image.version": published.tag } },
        rootfs: { type: "layers", diff_ids: [sha(tar)] },
      });
    }
  });

  it("GIVEN a published tag WHEN published again (to the token registry) THEN the same digest", async () => {
    const image = `${token.host}/${uid("org")}/api`;
    const [first] = await control.publishRegistryImages(image, ["v1"]);
    const [again, other] = await control.publishRegistryImages(image, ["v1", "v2"]);
    expect(again).toEqual(first);
    expect(other?.digest).not.toBe(first?.digest);
  });

  it("GIVEN platforms WHEN published THEN the tag names an OCI index of one annotated manifest per platform", async () => {
    const name = `${uid("org")}/api`;
    const [published] = await control.publishRegistryImages(
      `${basic.host}/${name}`,
      ["v3"],
      ["linux/arm64/v8", "linux/amd64"],
    );
    const answer = await pull(`/v2/${name}/manifests/v3`);
    expect(answer.headers.get("content-type")).toBe(OCI_INDEX);
    const raw = Buffer.from(await answer.arrayBuffer());
    expect(sha(raw)).toBe(published?.digest);
    const index = JSON.parse(raw.toString("utf8")) as {
      manifests: { digest: string; mediaType: string; platform: Record<string, string> }[];
      annotations: Record<string, string>;
    };
    expect(index.annotations).toEqual({ "org.opencontainers.image.version": "v3" });
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { os: "linux", architecture: "arm64", variant: "v8" },
      { os: "linux", architecture: "amd64" },
    ]);
    for (const entry of index.manifests) {
      const child = await pull(`/v2/${name}/manifests/${entry.digest}`);
      expect(child.status).toBe(200);
      const manifest = JSON.parse(await child.text()) as { config: { digest: string } };
      const config = JSON.parse(
        await (await pull(`/v2/${name}/blobs/${manifest.config.digest}`, "*/*")).text(),
      ) as Record<string, unknown>;
      expect({
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      }).toEqual(entry.platform);
    }
  });

  it.each([
    { what: "a host that is no sandbox registry", body: () => ({ image: "ghcr.io/org/api", tags: ["v1"] }) },
    {
      what: "both repository and image",
      body: () => ({ repository: "app", image: `${basic.host}/org/api`, tags: ["v1"] }),
    },
    { what: "an invalid name", body: () => ({ image: `${basic.host}/Org/API`, tags: ["v1"] }) },
    { what: "an invalid tag", body: () => ({ image: `${basic.host}/org/api`, tags: ["bad tag"] }) },
    {
      what: "an invalid platform",
      body: () => ({ image: `${basic.host}/org/api`, tags: ["v1"], platforms: ["amd64"] }),
    },
    { what: "neither repository nor image", body: () => ({ tags: ["v1"] }) },
  ])("GIVEN $what WHEN POST /_gantry/images THEN 400 with an R7 body", async ({ body }) => {
    const res = await gantry<{ error: string; hint: string }>(endpoint, "POST", "images", body());
    expect(res.status).toBe(400);
    expect(res.body.error).toBeTruthy();
    expect(res.body.hint).toBeTruthy();
  });

  it("GIVEN a host that is no sandbox registry WHEN published THEN the hint lists the sandbox's registries", async () => {
    const res = await gantry<{ error: string; hint: string }>(endpoint, "POST", "images", {
      image: "ghcr.io/org/api",
      tags: ["v1"],
    });
    expect(res.body.error).toBe("ghcr.io is not a sandbox registry");
    expect(res.body.hint).toBe(`publish to one of the sandbox's registries: ${basic.host}, ${token.host}`);
  });
});

describe("gantry sandbox image --image", () => {
  it.each([
    {
      args: ["--image", "127.0.0.1:5000/org/api", "--repository", "api"],
      error: /give --repository .* or --image .*, not both/,
    },
    { args: ["--image", "org/api"], error: /--image org\/api: not an image of a registry/ },
  ])(
    "GIVEN $args WHEN run THEN a usage error (exit 2) before any sandbox is asked",
    async ({ args, error }) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "gantry-image-usage-"));
      try {
        const res = await runGantry({ GANTRY_SANDBOX_DIR: dir }, "sandbox", "image", "v1.0.0", ...args);
        expect(res.code).toBe(2);
        expect(res.stderr).toMatch(error);
        expect(res.stderr).toContain(
          "hint: e.g. gantry sandbox image v1.0.0 --image 127.0.0.1:<port>/org/api",
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
describe("R12 the tag of a registry image", () => {
  it.each(["basic", "token"])(
    "GIVEN a service whose task definition runs a %s registry image by digest WHEN its health endpoint is read THEN version is the published tag",
    async (which) => {
      const registry = which === "basic" ? basic : token;
      const tag = uid("r12r");
      const [published] = await control.publishRegistryImages(`${registry.host}/${uid("org")}/web`, [tag]);
      const fixture = await provisionService(endpoint, "r12r", {
        tags: [uid("ecr")],
        desiredCount: 1,
        targetGroup: false,
        image: () => published!.imageUri,
      });
      const health = await getHealth(fixture.healthUrl);
      expect(health.status).toBe(200);
      expect(health.body.version).toBe(tag);
    },
  );
});
