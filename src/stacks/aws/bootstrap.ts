/**
 * The bootstrap stack (like `cdk bootstrap`): what the environments of one AWS account share and
 * what must exist before their first `pulumi up` — the state bucket of gantry's lock and ledger
 * (versioned, encrypted, private, TLS only), the ECR repositories the environments promote images
 * through, and GitHub's OIDC identity provider the deploy roles trust. Run once per account as the
 * stack `bootstrap`; it reads the config files of the environments on AWS accounts, which must
 * agree on the region and the bucket.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import path from "node:path";
import { ConfigError } from "../../errors.ts";
import { type EnvironmentConfig, PROJECT_NAME } from "../../config/schema.ts";
import { GITHUB_OIDC_HOST } from "./deployRole.ts";
import { policyDocument } from "./iam.ts";
import { ImageRepository } from "./images.ts";
import { type AwsSettings, awsSettings } from "./settings.ts";

/** Name of the bootstrap stack. */
export const BOOTSTRAP_STACK = "bootstrap";

/** Days a replaced version of a lock or ledger object is kept. */
export const NONCURRENT_VERSION_DAYS = 90;

/** What the bootstrap stack creates, derived from the environments' config. */
export interface BootstrapSettings {
  readonly region: string;
  readonly stateBucketName: string;
  /**
   * Every repository of the account's ECR that an environment's image names, each once; `keepLast`
   * is the largest any environment using it asks for.
   */
  readonly repositories: readonly { readonly name: string; readonly keepLast: number }[];
}

/** Outputs of the bootstrap stack. */
export interface BootstrapOutputs {
  readonly stateBucketName: pulumi.Output<string>;
  readonly repositoryUrls: pulumi.Output<string[]>;
  readonly githubOidcProviderArn: pulumi.Output<string>;
}

/** Derive the bootstrap settings from the AWS environments' configs; they must agree on region and bucket. */
export function bootstrapSettings(configs: readonly EnvironmentConfig[]): BootstrapSettings {
  const [first, ...others] = configs.map((config) => ({ config, settings: awsSettings(config) }));
  if (!first) {
    throw new ConfigError(
      "no AWS environment config found (Pulumi.dev.yaml, Pulumi.staging.yaml, Pulumi.prod.yaml)",
      {
        hint: 'create at least one of them (README "AWS environments")',
      },
    );
  }
  const shared: readonly { key: string; of: (s: AwsSettings) => string }[] = [
    { key: "aws:region", of: (s) => s.region },
    { key: `${PROJECT_NAME}:stateBucket.name`, of: (s) => s.stateBucket.name },
  ];
  for (const { config, settings } of others) {
    for (const { key, of } of shared) {
      if (of(settings) === of(first.settings)) continue;
      throw new ConfigError(
        `${path.basename(config.file)}: ${key}: ${of(settings)} differs from ${of(first.settings)} in ${path.basename(first.config.file)}; the environments of one bootstrap share it`,
        { hint: `use the same ${key} in every Pulumi.<env>.yaml of the account` },
      );
    }
  }
  const keepLast = new Map<string, number>();
  for (const { settings } of [first, ...others]) {
    for (const name of settings.ecrRepositories) {
      keepLast.set(name, Math.max(keepLast.get(name) ?? 0, settings.images.keepLast));
    }
  }
  return Object.freeze({
    region: first.settings.region,
    stateBucketName: first.settings.stateBucket.name,
    repositories: [...keepLast].map(([name, n]) => ({ name, keepLast: n })),
  });
}

/** The state bucket: versioned, encrypted at rest, no public access, TLS only, owner-enforced. */
class StateBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;

  constructor(name: string, bucketName: string, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:StateBucket", name, {}, opts);
    const parent = { parent: this };
    // The ledger is the deploy history: `pulumi destroy` must not take it along.
    this.bucket = new aws.s3.Bucket(name, { bucket: bucketName }, { ...parent, protect: true });
    const bucket = this.bucket.id;
    new aws.s3.BucketOwnershipControls(
      name,
      { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
      parent,
    );
    new aws.s3.BucketPublicAccessBlock(
      name,
      {
        bucket,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    new aws.s3.BucketVersioning(name, { bucket, versioningConfiguration: { status: "Enabled" } }, parent);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      name,
      {
        bucket,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
      },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      name,
      {
        bucket,
        rules: [
          {
            id: "expire-replaced-versions",
            status: "Enabled",
            filter: {},
            noncurrentVersionExpiration: { noncurrentDays: NONCURRENT_VERSION_DAYS },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      parent,
    );
    new aws.s3.BucketPolicy(
      name,
      {
        bucket,
        policy: this.bucket.arn.apply((arn) =>
          JSON.stringify(
            policyDocument([
              {
                Sid: "TlsOnly",
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ]),
          ),
        ),
      },
      parent,
    );
    this.registerOutputs({ bucketName: this.bucket.bucket });
  }
}

/** The inline program of the bootstrap stack. */
export function bootstrapProgram(settings: BootstrapSettings): () => Promise<BootstrapOutputs> {
  return () => {
    const provider = new aws.Provider("aws", {
      region: settings.region,
      defaultTags: { tags: { "gantry:managed-by": "pulumi", "gantry:stack": BOOTSTRAP_STACK } },
    });
    const opts = { providers: [provider] };
    const state = new StateBucket("state", settings.stateBucketName, opts);
    const repositories = settings.repositories.map(
      (repo) => new ImageRepository(repo.name, { repositoryName: repo.name, keepLast: repo.keepLast }, opts),
    );
    const oidc = new aws.iam.OpenIdConnectProvider(
      "github-actions",
      { url: `https://${GITHUB_OIDC_HOST}`, clientIdLists: ["sts.amazonaws.com"] },
      { provider },
    );
    return Promise.resolve({
      stateBucketName: state.bucket.bucket,
      repositoryUrls: pulumi.all(repositories.map((r) => r.repository.repositoryUrl)),
      githubOidcProviderArn: oidc.arn,
    });
  };
}
