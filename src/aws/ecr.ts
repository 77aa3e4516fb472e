/** ECR's tag → digest resolution, used by the image resolver (src/registry/) for ECR images. */
import { BatchGetImageCommand, type ECRClient } from "@aws-sdk/client-ecr";
import { AwsError } from "../errors.ts";
import type { ResolvedImage } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** Resolves tags through BatchGetImage (digest) and the repository URI. */
export class EcrAdapter {
  private readonly ecr: ECRClient;

  constructor(ecr: ECRClient) {
    this.ecr = ecr;
  }

  /**
   * The image `tag` of ECR repository `repositoryName` points at, or undefined when there is no
   * such tag or no such repository (both are a missing image to the caller, which lists them all).
   * `registryId` names another account's registry (a full ECR image name); default: the caller's.
   */
  async resolveTag(
    repositoryName: string,
    tag: string,
    registryId?: string,
  ): Promise<ResolvedImage | undefined> {
    let res;
    try {
      res = await withRetry(`resolve ${repositoryName}:${tag} in ECR`, () =>
        this.ecr.send(
          new BatchGetImageCommand({
            repositoryName,
            imageIds: [{ imageTag: tag }],
            ...(registryId ? { registryId } : {}),
          }),
        ),
      );
    } catch (err) {
      if (err instanceof AwsError && err.code === "AWS_RepositoryNotFoundException") return undefined;
      throw err;
    }
    const image = res.images?.[0];
    const digest = image?.imageId?.imageDigest;
    if (!image || !digest) return undefined;
    const registry = `${image.registryId ?? registryId ?? ""}.dkr.ecr.${await this.region()}.amazonaws.com`;
    return { tag, digest, imageUri: `${registry}/${repositoryName}@${digest}` };
  }

  private async region(): Promise<string> {
    return typeof this.ecr.config.region === "function"
      ? await this.ecr.config.region()
      : String(this.ecr.config.region);
  }
}
