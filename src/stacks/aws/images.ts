/**
 * Images: the ECR repository the services' images come from. It is shared by every environment so
 * that the digest verified on staging is the one deployed to prod; the bootstrap stack therefore
 * creates it (scan on push, immutable tags, a lifecycle that keeps the last N images so every
 * rollback target stays available) and the environment stacks only look it up.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The lifecycle policy document that expires all but the newest `keepLast` images. */
export function keepLastPolicy(keepLast: number): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `keep the last ${keepLast} images (rollback targets)`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keepLast },
        action: { type: "expire" },
      },
    ],
  });
}

/** Inputs of {@link ImageRepository}. */
export interface ImageRepositoryArgs {
  readonly repositoryName: string;
  readonly keepLast: number;
}

/** A shared ECR repository with scan on push and a keep-last-N lifecycle (bootstrap stack). */
export class ImageRepository extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;

  constructor(name: string, args: ImageRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:ImageRepository", name, {}, opts);
    this.repository = new aws.ecr.Repository(
      name,
      {
        name: args.repositoryName,
        imageScanningConfiguration: { scanOnPush: true },
        // A tag always means the same digest, so a rollback to a tag is exact.
        imageTagMutability: "IMMUTABLE",
        encryptionConfigurations: [{ encryptionType: "AES256" }],
      },
      { parent: this },
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      { repository: this.repository.name, policy: keepLastPolicy(args.keepLast) },
      { parent: this },
    );
    this.registerOutputs({ repositoryUrl: this.repository.repositoryUrl });
  }
}

/** The URL and ARN of an existing (bootstrap-created) repository. */
export interface RepositoryRef {
  readonly repositoryUrl: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
}

/** Look up the shared repository an environment pulls from; fails in preview if bootstrap has not run. */
export function lookupRepository(repositoryName: string, parent: pulumi.Resource): RepositoryRef {
  const found = aws.ecr.getRepositoryOutput({ name: repositoryName }, { parent });
  return { repositoryUrl: found.repositoryUrl, arn: found.arn };
}
