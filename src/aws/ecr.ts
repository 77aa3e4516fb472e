/** ECR adapter of {@link EcrPort}. */
import { BatchGetImageCommand, type ECRClient } from "@aws-sdk/client-ecr";
import type { EcrPort, ResolvedImage } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** Resolves tags through BatchGetImage (digest) and the repository URI. */
export class EcrAdapter implements EcrPort {
  private readonly ecr: ECRClient;

  constructor(ecr: ECRClient) {
    this.ecr = ecr;
  }

  async resolveTag(repositoryName: string, tag: string): Promise<ResolvedImage | undefined> {
    const res = await withRetry(`resolve ${repositoryName}:${tag} in ECR`, () =>
      this.ecr.send(new BatchGetImageCommand({ repositoryName, imageIds: [{ imageTag: tag }] })),
    );
    const image = res.images?.[0];
    const digest = image?.imageId?.imageDigest;
    if (!image || !digest) return undefined;
    const registry = `${image.registryId ?? ""}.dkr.ecr.${await this.region()}.amazonaws.com`;
    return { tag, digest, imageUri: `${registry}/${repositoryName}@${digest}` };
  }

  private async region(): Promise<string> {
    return typeof this.ecr.config.region === "function"
      ? await this.ecr.config.region()
      : String(this.ecr.config.region);
  }
}
