/**
 * The bootstrap stack (state bucket, shared ECR repositories, GitHub OIDC provider) and the
 * project's entry point for hand runs (src/stacks/main.ts), with Pulumi mocks.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadEnvironmentConfig } from "../../../src/config/load.ts";
import type { EnvironmentConfig } from "../../../src/config/schema.ts";
import {
  type BootstrapOutputs,
  bootstrapProgram,
  bootstrapSettings,
} from "../../../src/stacks/aws/bootstrap.ts";
import main from "../../../src/stacks/main.ts";
import { environmentOutputsSchema } from "../../../src/stacks/outputs.ts";
import { projectRoot } from "../../../src/tools/paths.ts";
import { only, ofType, runProgram, type Run, selectMockStack } from "./mocks.ts";
import { statements } from "./policies.ts";

const AWS_ENVS = ["dev", "staging", "prod"] as const;

describe("bootstrapSettings", () => {
  let configs: EnvironmentConfig[];
  beforeAll(async () => {
    configs = await Promise.all(AWS_ENVS.map((env) => loadEnvironmentConfig(projectRoot, env)));
  });

  it("GIVEN the committed dev, staging and prod files WHEN combined THEN one region, one bucket and the shared repository", () => {
    expect(bootstrapSettings(configs)).toEqual({
      region: "us-east-1",
      stateBucketName: "example-org-gantry-state",
      repositories: [{ name: "app", keepLast: 10 }],
    });
  });

  it("GIVEN environments asking to keep different numbers of images WHEN combined THEN the repository keeps the most", () => {
    const [dev, staging, prod] = configs;
    const keep = (config: EnvironmentConfig, keepLast: number): EnvironmentConfig => ({
      ...config,
      stack: { ...config.stack, images: { ...config.stack.images, keepLast } },
    });
    expect(bootstrapSettings([keep(dev!, 5), keep(staging!, 30), keep(prod!, 20)]).repositories).toEqual([
      { name: "app", keepLast: 30 },
    ]);
  });

  it("GIVEN a file with another state bucket WHEN combined THEN the error names that file and the key", () => {
    const [dev, , prod] = configs;
    const other = {
      ...prod!,
      stack: { ...prod!.stack, stateBucket: { name: "another-bucket", prefix: "gantry" } },
    };
    expect(() => bootstrapSettings([dev!, other])).toThrow(
      /^Pulumi\.prod\.yaml: platform:stateBucket\.name: another-bucket differs from example-org-gantry-state in Pulumi\.dev\.yaml/,
    );
  });

  it("GIVEN no AWS environment file WHEN combined THEN a ConfigError says which files are looked for", () => {
    expect(() => bootstrapSettings([])).toThrow(/no AWS environment config found \(Pulumi\.dev\.yaml/);
  });
});

describe("the bootstrap stack (mocks)", () => {
  let run: Run<BootstrapOutputs>;
  beforeAll(async () => {
    run = await runProgram(
      "bootstrap",
      bootstrapProgram({
        region: "us-east-1",
        stateBucketName: "example-org-gantry-state",
        repositories: [{ name: "app", keepLast: 10 }],
      }),
    );
  });

  it("GIVEN the state bucket WHEN declared THEN it is protected from destroy, versioned, encrypted, private and owner-enforced", () => {
    const bucket = only(run, "aws:s3/bucket:Bucket");
    expect(bucket.inputs.bucket).toBe("example-org-gantry-state");
    expect(bucket.protect).toBe(true);
    expect(only(run, "aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({
      status: "Enabled",
    });
    expect(
      only(run, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        .inputs.rules,
    ).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }]);
    expect(only(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    expect(only(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).toEqual({
      objectOwnership: "BucketOwnerEnforced",
    });
  });

  it("GIVEN the bucket policy WHEN read THEN every request without TLS is denied", () => {
    const [deny] = statements(only(run, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    expect(deny).toMatchObject({
      effect: "Deny",
      actions: ["s3:*"],
      resources: ["arn:aws:s3:::example-org-gantry-state", "arn:aws:s3:::example-org-gantry-state/*"],
      condition: { Bool: { "aws:SecureTransport": "false" } },
    });
  });

  it("GIVEN the shared repository WHEN declared THEN it scans on push, keeps tags immutable and keeps the last 10 images", () => {
    const repository = only(run, "aws:ecr/repository:Repository");
    expect(repository.inputs).toMatchObject({
      name: "app",
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: "IMMUTABLE",
    });
    const lifecycle = JSON.parse(
      String(only(run, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs.policy),
    ) as {
      rules: { selection: unknown; action: unknown }[];
    };
    expect(lifecycle.rules).toEqual([
      expect.objectContaining({
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 },
        action: { type: "expire" },
      }),
    ]);
  });

  it("GIVEN GitHub Actions WHEN the account is bootstrapped THEN its OIDC provider exists for sts.amazonaws.com", () => {
    expect(only(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs).toMatchObject({
      url: "https://token.actions.githubusercontent.com",
      clientIdLists: ["sts.amazonaws.com"],
    });
    expect(run.outputs.githubOidcProviderArn).toBe(
      "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    );
    expect(run.outputs.repositoryUrls).toEqual(["123456789012.dkr.ecr.us-east-1.amazonaws.com/app"]);
  });
});

describe("src/stacks/main.ts, the entry point of hand runs (mocks)", () => {
  it("GIVEN stack dev WHEN the entry point runs THEN it loads Pulumi.dev.yaml and exports EnvironmentOutputs", async () => {
    const run = await runProgram("dev", main);
    expect(environmentOutputsSchema.strict().safeParse(run.outputs).error).toBeUndefined();
    expect(only(run, "aws:ecs/cluster:Cluster").inputs.name).toBe("gantry-dev");
  });

  it("GIVEN stack bootstrap WHEN the entry point runs THEN it bootstraps from the committed environment files", async () => {
    const run = await runProgram("bootstrap", main);
    expect(only(run, "aws:s3/bucket:Bucket").inputs.bucket).toBe("example-org-gantry-state");
    expect(ofType(run, "aws:ecr/repository:Repository").map((r) => r.inputs.name)).toEqual(["app"]);
  });

  it.each([
    ["sandbox", /the sandbox stack runs only through gantry/],
    ["qa", /unknown environment "qa"/],
  ])(
    "GIVEN stack %s WHEN the entry point runs THEN it refuses with a typed error",
    async (stack, message) => {
      selectMockStack(stack);
      await expect(main()).rejects.toThrow(message);
    },
  );
});
