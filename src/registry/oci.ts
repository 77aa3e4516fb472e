/**
 * A small OCI distribution client: what a tag of an image in any registry other than ECR points
 * at. `HEAD /v2/<name>/manifests/<tag>` with the OCI and Docker manifest media types in `Accept`;
 * the digest from `Docker-Content-Digest` (or the sha256 of the body when a registry leaves it
 * out); for a manifest list / OCI index, its linux/amd64 entry must exist (the platform Fargate
 * runs). Authentication is what the registry asks for in `WWW-Authenticate`: Basic with the
 * configured credentials, or Bearer with a token from the realm it names (GHCR's way), fetched
 * with those credentials when there are some and anonymously otherwise.
 *
 * No client library is used: the ones on npm pull whole manifests through their own HTTP stacks,
 * resolve platform manifests rather than the tag's own digest, and classify no failure.
 * Plain HTTP only for a registry on this machine (isLoopbackRegistry), HTTPS everywhere else.
 */
import { createHash } from "node:crypto";
import pRetry from "p-retry";
import { isLoopbackRegistry } from "../config/image.ts";
import { oneLine } from "../errors.ts";
import type { ResolvedImage } from "../aws/ports.ts";
import { parseWwwAuthenticate } from "./challenge.ts";
import { RegistryError } from "./errors.ts";

/** Manifest media types, as registries name them. */
export const MEDIA_TYPES = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

const ACCEPT = Object.values(MEDIA_TYPES).join(", ");
const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/** The platform Fargate runs images on (task definitions without runtimePlatform). */
export const FARGATE_PLATFORM = { os: "linux", architecture: "amd64" } as const;

/** Credentials for one registry: Basic for the registry itself or for its token realm. */
export interface RegistryLogin {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** The credentials configured for a registry host (`gantry:registries."<host>"`), if any. */
export type CredentialsLookup = (registry: string) => RegistryLogin | undefined;

/** Options of {@link OciRegistryClient}. */
export interface OciClientOptions {
  readonly credentials?: CredentialsLookup;
  /** Deadline of one HTTP request (default 10,000 ms). */
  readonly timeoutMs?: number;
  /** Retries of a transient failure: 5xx, 429, a dropped connection (default 2). */
  readonly retries?: number;
  /** First retry delay (default 250 ms, doubling, with jitter). */
  readonly minRetryDelayMs?: number;
  /** Aborts every request in flight and every retry wait. */
  readonly signal?: AbortSignal;
}

/** The image a request is about, for messages and hints. */
interface Subject {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string;
  /** `registry/repository:tag` */
  readonly ref: string;
}

/** An HTTP answer that may be worth a retry (5xx, 429): thrown inside the retry loop only. */
class TransientAnswer extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${String(status)}`);
    this.status = status;
  }
}

/** Connection failures that a second try may get past; refused connections and unknown hosts are not. */
const DROPPED = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNABORTED"]);

/** The error code of a failed fetch (`ECONNREFUSED`, `ENOTFOUND`, …), from its cause chain. */
function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: unknown }).name;
  return name === "TimeoutError";
}

/** Registries whose API is served on another host than the one image names use. */
const API_HOSTS: Readonly<Record<string, string>> = {
  "docker.io": "registry-1.docker.io",
  "index.docker.io": "registry-1.docker.io",
};

/**
 * Where the distribution API of a registry (as image names write it) is served: HTTPS, or plain
 * HTTP for a registry on this machine (the sandbox's); Docker Hub's images are named `docker.io/…`.
 */
export function registryOrigin(registry: string): string {
  return `${isLoopbackRegistry(registry) ? "http" : "https"}://${API_HOSTS[registry] ?? registry}`;
}

/** `gantry:registries."<host>"`: the config key of a registry's credentials. */
function credentialsKey(registry: string): string {
  return `gantry:registries."${registry}"`;
}

/** Resolves tags of images in OCI registries; one instance per run (it keeps tokens per repository). */
export class OciRegistryClient {
  private readonly options: OciClientOptions;
  /** `Authorization` header per `registry/repository`, once the registry asked for one. */
  private readonly authorizations = new Map<string, string>();

  constructor(options: OciClientOptions = {}) {
    this.options = options;
  }

  /**
   * What `tag` of `registry/repository` points at, or undefined when the registry has no such tag
   * (404). Throws a {@link RegistryError}: REGISTRY_UNREACHABLE, REGISTRY_AUTH, REGISTRY_REFUSED or
   * WRONG_PLATFORM.
   */
  async resolve(registry: string, repository: string, tag: string): Promise<ResolvedImage | undefined> {
    const subject: Subject = { registry, repository, tag, ref: `${registry}/${repository}:${tag}` };
    const path = `/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
    const head = await this.send(subject, "HEAD", path);
    if (head.status === 404) return undefined;
    let digest = head.headers.get("docker-content-digest") ?? undefined;
    let mediaType = mediaTypeOf(head.headers.get("content-type"));
    let body: Buffer | undefined;
    if (!digest || !mediaType || INDEX_TYPES.has(mediaType)) {
      // The digest is the sha256 of the body when the registry does not say; an index's body lists its platforms.
      const got = await this.send(subject, "GET", path);
      if (got.status === 404) {
        await got.body?.cancel();
        return undefined;
      }
      body = Buffer.from(await got.arrayBuffer());
      digest ??=
        got.headers.get("docker-content-digest") ??
        `sha256:${createHash("sha256").update(body).digest("hex")}`;
      mediaType = mediaTypeOf(got.headers.get("content-type")) ?? mediaTypeOf(parseJson(body)?.mediaType);
    }
    if (!DIGEST.test(digest)) {
      throw new RegistryError(
        `${subject.ref}: ${registry} answered with an invalid digest ${digest.slice(0, 80)}`,
        {
          code: "REGISTRY_REFUSED",
          hint: `check that ${registry} implements the OCI distribution API`,
        },
      );
    }
    if (body && mediaType && INDEX_TYPES.has(mediaType)) checkPlatform(subject, body);
    return { tag, digest, imageUri: `${registry}/${repository}@${digest}` };
  }

  /**
   * One request, authenticated the way the registry asks: when it answers 401, its challenge is
   * met (once) and the request sent again. Returns 2xx and 404 answers; throws for the rest.
   */
  private async send(subject: Subject, method: "HEAD" | "GET", path: string): Promise<Response> {
    const key = `${subject.registry}/${subject.repository}`;
    const url = `${registryOrigin(subject.registry)}${path}`;
    const headers = (): Record<string, string> => {
      const authorization = this.authorizations.get(key);
      return { accept: ACCEPT, ...(authorization ? { authorization } : {}) };
    };
    let res = await this.fetch(subject, url, { method, headers: headers() });
    if (res.status === 401) {
      await res.body?.cancel();
      this.authorizations.set(key, await this.authorize(subject, res.headers.get("www-authenticate") ?? ""));
      res = await this.fetch(subject, url, { method, headers: headers() });
    }
    if (res.ok || res.status === 404) return res;
    await res.body?.cancel();
    if (res.status === 401 || res.status === 403) throw this.refused(subject, res.status, "the registry");
    throw new RegistryError(`${subject.ref}: ${subject.registry} answered HTTP ${String(res.status)}`, {
      code: "REGISTRY_REFUSED",
      hint: `check the image name (platform:services[].image) and that ${subject.registry} is an OCI registry`,
    });
  }

  /** The `Authorization` header that meets the registry's challenge. */
  private async authorize(subject: Subject, header: string): Promise<string> {
    const login = this.options.credentials?.(subject.registry);
    const basic =
      login?.password === undefined
        ? undefined
        : `Basic ${Buffer.from(`${login.username ?? ""}:${login.password}`).toString("base64")}`;
    const challenges = parseWwwAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    if (bearer?.params.realm) {
      return `Bearer ${await this.token(subject, bearer.params, basic)}`;
    }
    if (challenges.some((c) => c.scheme === "basic")) {
      if (basic) return basic;
      throw this.missing(subject);
    }
    throw new RegistryError(
      `${subject.ref}: ${subject.registry} asks for an authentication gantry does not speak (${oneLine(header).slice(0, 80) || "no WWW-Authenticate"})`,
      {
        code: "REGISTRY_AUTH",
        hint: "gantry authenticates with Basic credentials or Bearer tokens, as Docker does; use a registry that offers one",
      },
    );
  }

  /** A Bearer token from the challenge's realm, asked with Basic credentials when there are some. */
  private async token(
    subject: Subject,
    params: Readonly<Record<string, string>>,
    basic: string | undefined,
  ): Promise<string> {
    const realm = URL.canParse(params.realm ?? "") ? new URL(params.realm ?? "") : undefined;
    // Credentials go to an https:// realm, or to a plain-HTTP one on this machine (the sandbox's).
    const safe =
      realm?.protocol === "https:" ||
      (realm?.protocol === "http:" && (!basic || isLoopbackRegistry(realm.host)));
    if (!realm || !safe) {
      throw new RegistryError(
        `${subject.ref}: ${subject.registry} names a token realm gantry will not use (${oneLine(params.realm ?? "").slice(0, 80)})`,
        { code: "REGISTRY_AUTH", hint: "a registry's token realm must be an https:// URL" },
      );
    }
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", params.scope ?? `repository:${subject.repository}:pull`);
    const res = await this.fetch(subject, realm.href, {
      method: "GET",
      headers: { accept: "application/json", ...(basic ? { authorization: basic } : {}) },
    });
    const text = await res.text();
    if (res.status === 401 || res.status === 403)
      throw this.refused(subject, res.status, "its token service");
    if (!res.ok) {
      throw new RegistryError(
        `${subject.ref}: the token service of ${subject.registry} answered HTTP ${String(res.status)}`,
        {
          code: "REGISTRY_REFUSED",
          hint: `check that ${realm.host} works (it is the registry's token realm)`,
        },
      );
    }
    const answer = parseJson(Buffer.from(text));
    const token = answer?.token ?? answer?.access_token;
    if (typeof token !== "string" || !token) {
      throw new RegistryError(
        `${subject.ref}: the token service of ${subject.registry} answered without a token`,
        {
          code: "REGISTRY_AUTH",
          hint: `check the credentials of ${credentialsKey(subject.registry)}`,
        },
      );
    }
    return token;
  }

  /** The registry (or its token service) turned the request down: credentials missing or refused. */
  private refused(subject: Subject, status: number, who: string): RegistryError {
    const login = this.options.credentials?.(subject.registry);
    if (login?.password === undefined) return this.missing(subject);
    const key = credentialsKey(subject.registry);
    return new RegistryError(
      `${subject.ref}: ${who} refused the credentials of ${key} (HTTP ${String(status)})`,
      {
        code: "REGISTRY_AUTH",
        hint:
          status === 403
            ? `give the credentials of ${key} read access to ${subject.repository}`
            : `fix ${key}.username and ${key}.password (the secret it names must hold a valid token or password)`,
      },
    );
  }

  private missing(subject: Subject): RegistryError {
    const key = credentialsKey(subject.registry);
    return new RegistryError(`${subject.ref}: ${subject.registry} asks for credentials and ${key} has none`, {
      code: "REGISTRY_AUTH",
      hint: `set ${key}: { username: <user>, password: { fromEnv: <VAR> } } in the environment's Pulumi.<env>.yaml`,
    });
  }

  /** fetch with the deadline and the retry policy (transient failures only, with jitter). */
  private async fetch(subject: Subject, url: string, init: RequestInit): Promise<Response> {
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const attempt = async (): Promise<Response> => {
      const deadline = AbortSignal.timeout(timeoutMs);
      const res = await fetch(url, {
        ...init,
        redirect: "follow",
        signal: this.options.signal ? AbortSignal.any([deadline, this.options.signal]) : deadline,
      });
      if (res.status >= 500 || res.status === 429) {
        await res.body?.cancel();
        throw new TransientAnswer(res.status);
      }
      return res;
    };
    try {
      return await pRetry(attempt, {
        retries: this.options.retries ?? 2,
        minTimeout: this.options.minRetryDelayMs ?? 250,
        maxTimeout: 2000,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof TransientAnswer || DROPPED.has(networkCode(error) ?? ""),
        ...(this.options.signal ? { signal: this.options.signal } : {}),
      });
    } catch (err) {
      const host = new URL(url).host;
      if (err instanceof TransientAnswer) {
        throw new RegistryError(
          `${subject.ref}: ${host} answered HTTP ${String(err.status)}, also when asked again`,
          {
            code: "REGISTRY_UNREACHABLE",
            hint: `${host} is failing or limiting requests: try again later`,
            cause: err,
          },
        );
      }
      const why = isTimeout(err)
        ? `no answer within ${String(timeoutMs / 1000)} s`
        : (networkCode(err) ?? oneLine(err));
      throw new RegistryError(`${subject.ref}: cannot reach ${host} (${why})`, {
        code: "REGISTRY_UNREACHABLE",
        hint: `check the registry host in platform:services[].image and that this machine reaches ${new URL(url).origin}`,
        cause: err,
      });
    }
  }
}

/** `application/vnd.oci.image.index.v1+json` from a Content-Type value (parameters dropped). */
function mediaTypeOf(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const type = value.split(";")[0]?.trim().toLowerCase();
  return type || undefined;
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An index must list a linux/amd64 image; WRONG_PLATFORM, naming the platforms it has, otherwise. */
function checkPlatform(subject: Subject, body: Buffer): void {
  const manifests = parseJson(body)?.manifests;
  const platforms = (Array.isArray(manifests) ? manifests : [])
    .map((m) => (m as { platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }).platform)
    .filter((p) => p !== undefined);
  if (
    platforms.some((p) => p.os === FARGATE_PLATFORM.os && p.architecture === FARGATE_PLATFORM.architecture)
  ) {
    return;
  }
  const listed = [
    ...new Set(
      platforms
        // Attestations and other artifacts are listed as unknown/unknown.
        .filter((p) => p.os !== "unknown")
        .map((p) => [p.os, p.architecture, p.variant].filter((v) => typeof v === "string").join("/")),
    ),
  ];
  throw new RegistryError(
    `${subject.ref} has no ${FARGATE_PLATFORM.os}/${FARGATE_PLATFORM.architecture} image (it has ${listed.join(", ") || "none"})`,
    {
      code: "WRONG_PLATFORM",
      hint: `build and push it for linux/amd64, the platform Fargate runs (docker buildx build --platform linux/amd64 --push)`,
    },
  );
}
