/**
 * Client of the sandbox's control API (`/_gantry/...`, see sandbox/SPEC.md): images (in the
 * sandbox ECR and in its OCI registries), faults, speeds, reset, and the provisioning calls the
 * sandbox stack's dynamic resources make.
 */
import { oneLine, SandboxError } from "../errors.ts";

/** Kinds of fault an image tag can carry (sandbox/SPEC.md). */
export const FAULT_KINDS = ["migration", "rollout", "health", "wrong-version", "alarm", "slow"] as const;
/** One of {@link FAULT_KINDS}. */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Timings of the emulated account, in seconds. */
export interface SandboxSpeeds {
  rolloutSeconds: number;
  snapshotSeconds: number;
  taskSeconds: number;
}

/** GET /_gantry/health. */
export interface SandboxHealth {
  ok: boolean;
  pid: number;
  port: number;
  epoch: string;
  speeds: SandboxSpeeds;
  motoVersion: string;
}

/** An image published to the sandbox ECR or to a sandbox registry. */
export interface PublishedImage {
  tag: string;
  digest: string;
  imageUri: string;
}

/** One of the sandbox's OCI registries (SPEC R27), with its sandbox-only credentials. */
export interface SandboxRegistryInfo {
  /** `basic` (htpasswd) or `token` (Bearer tokens from the sandbox's realm). */
  name: string;
  /** `127.0.0.1:<port>`, the registry part of its image names. */
  host: string;
  auth: "basic" | "bearer";
  username: string;
  password: string;
  /** The token realm (bearer only). */
  realm?: string;
}

/** A fault marked on an image tag. */
export interface Fault {
  tag: string;
  kind: FaultKind;
  alarmName?: string;
  /** `slow` only: how long the health endpoint holds each answer (default 1 s; SPEC R22b). */
  delaySeconds?: number;
  /** Only images of this repository (`web`, `acme/web`: no registry host, tag or digest); default every image. */
  repository?: string;
}

/** Typed HTTP client of one running sandbox. */
export class SandboxControl {
  readonly endpoint: string;

  /** @param endpoint base URL, e.g. `http://127.0.0.1:4566`. */
  constructor(endpoint: string) {
    this.endpoint = endpoint.replace(/\/$/, "");
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}/_gantry/${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new SandboxError(
        `sandbox at ${this.endpoint} did not answer ${method} /_gantry/${path}: ${oneLine(err)}`,
        {
          code: "SANDBOX_UNREACHABLE",
          hint: "gantry sandbox status (or gantry sandbox start)",
          cause: err,
        },
      );
    }
    const text = await res.text();
    if (!res.ok) {
      let detail: { error?: string; hint?: string } = {};
      try {
        detail = JSON.parse(text) as typeof detail;
      } catch {
        detail = { error: text.slice(0, 200) };
      }
      throw new SandboxError(`sandbox refused ${method} /_gantry/${path}: ${detail.error ?? res.status}`, {
        code: "SANDBOX_REFUSED",
        hint: detail.hint,
        source: res.status < 500 ? "user" : "system",
      });
    }
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Liveness, pid, port, epoch (changes on restart and reset) and speeds. */
  health(): Promise<SandboxHealth> {
    return this.call("GET", "health");
  }

  /** Wipe every emulated resource and all behaviour state. */
  async reset(): Promise<void> {
    await this.call("POST", "reset");
  }

  /** Publish an image per tag to the sandbox ECR repository. */
  async publishImages(repository: string, tags: readonly string[]): Promise<PublishedImage[]> {
    const res = await this.call<{ images: PublishedImage[] }>("POST", "images", { repository, tags });
    return res.images;
  }

  /**
   * Publish a small real image per tag to a sandbox registry (SPEC R29): `image` is
   * `127.0.0.1:<port>/<name>`; with `platforms` (`linux/arm64`, …) an OCI index of one image per platform.
   */
  async publishRegistryImages(
    image: string,
    tags: readonly string[],
    platforms?: readonly string[],
  ): Promise<PublishedImage[]> {
    const res = await this.call<{ images: PublishedImage[] }>("POST", "images", {
      image,
      tags,
      ...(platforms ? { platforms } : {}),
    });
    return res.images;
  }

  /** The sandbox's OCI registries and their credentials (SPEC R27). */
  async registries(): Promise<SandboxRegistryInfo[]> {
    return (await this.call<{ registries: SandboxRegistryInfo[] }>("GET", "registries")).registries;
  }

  /** Mark a tag faulty. */
  async addFault(fault: Fault): Promise<void> {
    await this.call("POST", "faults", fault);
  }

  /** All marked faults. */
  async faults(): Promise<Fault[]> {
    return (await this.call<{ faults: Fault[] }>("GET", "faults")).faults;
  }

  /** Clear every fault of a tag. */
  async clearFaults(tag: string): Promise<void> {
    await this.call("DELETE", `faults?tag=${encodeURIComponent(tag)}`);
  }

  /** Change some speeds; returns all of them. */
  async setSpeeds(speeds: Partial<SandboxSpeeds>): Promise<SandboxSpeeds> {
    return this.call("POST", "speed", speeds);
  }

  /** Append a RunTask exit-code rule. */
  async addTaskRule(rule: { image?: string; commandContains?: string; exitCode: number }): Promise<void> {
    await this.call("POST", "task-rules", rule);
  }
}
