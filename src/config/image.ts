/**
 * Image names as the config writes them (`platform:services[].image`): an ECR repository of the
 * environment's account (`api`, `team/api`), or a full OCI reference without tag or digest
 * (`ghcr.io/org/api`, `127.0.0.1:5000/org/api`, `123456789012.dkr.ecr.eu-west-1.amazonaws.com/api`).
 * One parser, used by the schema, the stacks and the image resolver.
 */

/** Path components of a repository: lowercase alphanumerics separated by `.`, `_`, `__` or `-` runs. */
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A registry host with an optional port: a DNS name, `localhost`, or an IPv4 address. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::\d{1,5})?$/;
/** ECR's registry host: `<account>.dkr.ecr.<region>.amazonaws.com`. */
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$/;

/** A parsed image name. */
export type ImageName =
  /** A repository in the ECR of the environment's account and region (`registry` absent), or named by its full ECR host. */
  | {
      readonly kind: "ecr";
      readonly repository: string;
      readonly registryId?: string;
      readonly region?: string;
    }
  /** A repository of any other OCI registry, reached through the distribution API. */
  | { readonly kind: "oci"; readonly registry: string; readonly repository: string };

/**
 * Parse an image name; undefined when it is not one (the schema turns that into a config error).
 * Docker's rule tells a registry from a path component: the first component is a registry when
 * it contains a `.` or a `:`, or is `localhost`.
 */
export function parseImageName(value: string): ImageName | undefined {
  if (value.includes("@") || value.length > 255) return undefined;
  const parts = value.split("/");
  const first = parts[0] ?? "";
  const hasRegistry =
    parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const path = hasRegistry ? parts.slice(1) : parts;
  if (!path.length || !path.every((c) => COMPONENT.test(c))) return undefined;
  const repository = path.join("/");
  if (!hasRegistry) return { kind: "ecr", repository };
  if (!HOST.test(first)) return undefined;
  const ecr = ECR_HOST.exec(first);
  if (ecr) return { kind: "ecr", repository, registryId: ecr[1] ?? "", region: ecr[2] ?? "" };
  return { kind: "oci", registry: first, repository };
}

/** The name as written back: `registry/repository`, or the bare ECR repository. */
export function formatImageName(image: ImageName): string {
  if (image.kind === "oci") return `${image.registry}/${image.repository}`;
  return image.registryId
    ? `${image.registryId}.dkr.ecr.${image.region ?? ""}.amazonaws.com/${image.repository}`
    : image.repository;
}

/** Whether a registry host is on this machine: reached over plain HTTP (the sandbox's registry), all others over HTTPS. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "127.0.0.1" || host.startsWith("127.");
}

/** The image a service deploys: its own `image`, else the stack's `repositoryName` (an ECR repository). */
export function serviceImageName(
  stack: { readonly repositoryName: string },
  service: { readonly image?: string | undefined },
): string {
  return service.image ?? stack.repositoryName;
}
