/**
 * The image port (src/aws/ports.ts ImagePort): a service's image name (src/config/image.ts) is
 * resolved in ECR through the SDK, or in any other OCI registry through the distribution API.
 */
import type { EcrAdapter } from "../aws/ecr.ts";
import type { ImagePort, ResolvedImage } from "../aws/ports.ts";
import { parseImageName } from "../config/image.ts";
import { RegistryError } from "./errors.ts";
import { type CredentialsLookup, type OciClientOptions, OciRegistryClient } from "./oci.ts";

/** What {@link ImageResolver} needs. */
export interface ImageResolverDeps {
  /** ECR of `region` (an ECR image name may name its region); undefined: the environment's. */
  readonly ecr: (region: string | undefined) => Promise<EcrAdapter>;
  /** The credentials of `gantry:registries."<host>"`, read when a registry asks for them. */
  readonly credentials: CredentialsLookup;
  /** Deadlines and retries of the OCI client (tests shorten them). */
  readonly oci?: Omit<OciClientOptions, "credentials">;
}

/** Resolves every service's image, wherever it lives. */
export class ImageResolver implements ImagePort {
  private readonly deps: ImageResolverDeps;
  private readonly oci: OciRegistryClient;

  constructor(deps: ImageResolverDeps) {
    this.deps = deps;
    this.oci = new OciRegistryClient({ ...deps.oci, credentials: deps.credentials });
  }

  async resolve(image: string, tag: string): Promise<ResolvedImage | undefined> {
    const name = parseImageName(image);
    if (!name) {
      // The schema validates every image name: this is a caller's bug, reported as plainly as can be.
      throw new RegistryError(`${image}: not an image name`, {
        code: "IMAGE_NAME_INVALID",
        hint: "name an ECR repository (api) or an image without tag (ghcr.io/org/api) in platform:services[].image",
      });
    }
    if (name.kind === "oci") return this.oci.resolve(name.registry, name.repository, tag);
    const ecr = await this.deps.ecr(name.region);
    return ecr.resolveTag(name.repository, tag, name.registryId);
  }
}
