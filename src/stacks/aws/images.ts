/**
 * Images: where each task family pulls its image from. An ECR repository of the account is shared
 * by every environment so that the digest verified on staging is the one deployed to prod; the
 * bootstrap stack therefore creates it (scan on push, immutable tags, a lifecycle that keeps the
 * last N images so every rollback target stays available) and the environment stacks only look it
 * up. Any other registry is used as named, with the pull credentials `platform:registries` gives.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { formatImageName } from "../../config/image.ts";
import type { ServiceImage } from "../images.ts";
import type { AccountContext } from "./iam.ts";
import type { AwsSettings } from "./settings.ts";

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

/** Look up a shared repository an environment pulls from; fails in preview if bootstrap has not run. */
function lookupRepository(repositoryName: string, parent: pulumi.Resource): ImageSource {
  const found = aws.ecr.getRepositoryOutput({ name: repositoryName }, { parent });
  return { reference: found.repositoryUrl, repositoryArn: found.arn };
}

/** Where the tasks pull one image from. */
export interface ImageSource {
  /** The reference without tag: the ECR repository's URL, or `registry/name`. */
  readonly reference: pulumi.Input<string>;
  /** ECR only: the repository, which the execution role pulls from and the deploy role reads. */
  readonly repositoryArn?: pulumi.Input<string>;
  /** A private registry's Secrets Manager secret: the container's `repositoryCredentials`. */
  readonly credentialsArn?: string;
}

/**
 * The sources of an environment's images, each distinct name once: a repository of the account's
 * ECR is looked up (one lookup per repository), one named by its full ECR host is used as named
 * (its ARN built from the host), any other registry as named with its configured credentials.
 */
export class ImageSources {
  private readonly sources = new Map<string, ImageSource>();
  private readonly registries: AwsSettings["registries"];
  private readonly account: AccountContext;
  private readonly parent: pulumi.Resource;

  constructor(registries: AwsSettings["registries"], account: AccountContext, parent: pulumi.Resource) {
    this.registries = registries;
    this.account = account;
    this.parent = parent;
  }

  /** The source of `image`. */
  of({ name, parsed }: ServiceImage): ImageSource {
    const known = this.sources.get(name);
    if (known) return known;
    let source: ImageSource;
    if (parsed.kind === "oci") {
      const credentialsArn = this.registries[parsed.registry]?.credentialsArn;
      source = { reference: formatImageName(parsed), ...(credentialsArn ? { credentialsArn } : {}) };
    } else if (parsed.registryId === undefined) {
      source = lookupRepository(parsed.repository, this.parent);
    } else {
      const { registryId, region = this.account.region, repository } = parsed;
      source = {
        reference: formatImageName(parsed),
        repositoryArn: pulumi.interpolate`arn:${this.account.partition}:ecr:${region}:${registryId}:repository/${repository}`,
      };
    }
    this.sources.set(name, source);
    return source;
  }
}

/** Every ECR repository among `sources`. */
export function repositoryArns(sources: readonly ImageSource[]): pulumi.Input<string>[] {
  return sources.flatMap((s) => (s.repositoryArn === undefined ? [] : [s.repositoryArn]));
}

/** Every private registry's credentials secret among `sources`, each once, sorted. */
export function credentialsArns(sources: readonly ImageSource[]): string[] {
  return [
    ...new Set(sources.flatMap((s) => (s.credentialsArn === undefined ? [] : [s.credentialsArn]))),
  ].sort();
}
