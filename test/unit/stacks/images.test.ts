/**
 * Several images per environment in the AWS program and the bootstrap stack, with Pulumi mocks:
 * each service's task family starts from its own image (ECR repositories looked up, other
 * registries used as named with their pull credentials), the execution and deploy roles reach
 * exactly those images, the migration task runs the image of `gantry:migration.service`, and the
 * bootstrap stack creates every ECR repository the environments name.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateConfig } from "../../../src/config/load.ts";
import type { EnvironmentConfig } from "../../../src/config/schema.ts";
import { bootstrapSettings } from "../../../src/stacks/aws/bootstrap.ts";
import { environmentProgram } from "../../../src/stacks/index.ts";
import { environmentOutputsSchema, type EnvironmentOutputs } from "../../../src/stacks/outputs.ts";
import { projectRoot } from "../../../src/tools/paths.ts";
import { ACCOUNT, ofType, only, type Registered, type Run, runProgram } from "./mocks.ts";
import { resourcesFor, statements } from "./policies.ts";

const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ECR = `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com`;
const repositoryArn = (name: string): string => `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/${name}`;
const GHCR_SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:ghcr-pull-AbCdEf`;

type Raw = Record<string, unknown>;

/** The keys of a committed Pulumi.<env>.yaml, as written. */
async function committed(env: string): Promise<Raw> {
  const text = await readFile(path.join(projectRoot, `Pulumi.${env}.yaml`), "utf8");
  return (parse(text) as { config: Raw }).config;
}

/** The committed file's config with an `image` per service (by name) and other keys replaced. */
function variant(env: string, raw: Raw, images: Record<string, string>, keys: Raw = {}): EnvironmentConfig {
  const services = (raw["platform:services"] as Raw[]).map((svc) => {
    const image = images[String(svc.name)];
    return image === undefined ? svc : { ...svc, image };
  });
  return validateConfig(env, `Pulumi.${env}.yaml`, { ...raw, "platform:services": services, ...keys });
}

interface Container {
  name: string;
  image: string;
  repositoryCredentials?: { credentialsParameter: string };
}
const containerOf = (task: Registered): Container =>
  (JSON.parse(String(task.inputs.containerDefinitions)) as Container[])[0]!;
const family = (run: Run<unknown>, name: string): Container =>
  containerOf(only(run, TASK_DEFINITION, (t) => t.inputs.family === `gantry-dev-${name}`));
const policyOf = (run: Run<unknown>, name: string): unknown =>
  JSON.parse(String(only(run, ROLE_POLICY, (p) => p.name === name).inputs.policy));

const runDev = (config: EnvironmentConfig): Promise<Run<EnvironmentOutputs>> =>
  runProgram("dev", environmentProgram(config) as () => Promise<EnvironmentOutputs>);

describe("an AWS environment whose services have their own images (mocks)", () => {
  let dev: Raw;
  beforeAll(async () => {
    dev = await committed("dev");
  });

  describe("two services, each in its own ECR repository", () => {
    let run: Run<EnvironmentOutputs>;
    beforeAll(async () => {
      run = await runDev(variant("dev", dev, { api: "api", web: "web" }));
    });

    it("GIVEN api and web images WHEN declared THEN each task family starts from its own repository at the initial tag", () => {
      expect(family(run, "api").image).toBe(`${ECR}/api:bootstrap`);
      expect(family(run, "web").image).toBe(`${ECR}/web:bootstrap`);
      expect(family(run, "api").repositoryCredentials).toBeUndefined();
      expect(run.calls.filter((c) => c === "aws:ecr/getRepository:getRepository")).toHaveLength(2);
      expect(ofType(run, "aws:ecr/repository:Repository")).toEqual([]);
    });

    it("GIVEN the two repositories WHEN the roles are read THEN the execution role pulls and the deploy role reads exactly both", () => {
      const execution = statements(JSON.stringify(policyOf(run, "cluster-execution")));
      expect(resourcesFor(execution, "ecr:BatchGetImage")).toEqual([
        repositoryArn("api"),
        repositoryArn("web"),
      ]);
      expect(resourcesFor(execution, "ecr:GetAuthorizationToken")).toEqual(["*"]);
      const deploy = statements(JSON.stringify(policyOf(run, "deploy")));
      for (const action of ["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:ListImages"]) {
        expect(resourcesFor(deploy, action)).toEqual([repositoryArn("api"), repositoryArn("web")]);
      }
    });

    it("GIVEN the outputs WHEN validated THEN each service names its image and ecrRepositoryUrl is the first service's", () => {
      expect(environmentOutputsSchema.strict().safeParse(run.outputs).error).toBeUndefined();
      expect(run.outputs.services.map((s) => [s.name, s.image])).toEqual([
        ["api", "api"],
        ["web", "web"],
      ]);
      expect(run.outputs.ecrRepositoryUrl).toBe(`${ECR}/api`);
      expect(run.outputs.migration.service).toBe("api");
    });
  });

  describe("a service from a private ghcr.io registry", () => {
    let run: Run<EnvironmentOutputs>;
    let dbSecret: string;
    beforeAll(async () => {
      run = await runDev(
        variant(
          "dev",
          dev,
          { api: "api", web: "ghcr.io/example-org/web" },
          {
            "platform:registries": { "ghcr.io": { credentialsArn: GHCR_SECRET } },
            "gantry:migration": { command: ["npm", "run", "migrate"], service: "web" },
          },
        ),
      );
      const db = only(run, "aws:rds/instance:Instance");
      dbSecret = (db.state.masterUserSecrets as { secretArn: string }[])[0]!.secretArn;
    });

    it("GIVEN the ghcr.io image WHEN its family is declared THEN it starts from registry/name:initialTag with the registry's credentials", () => {
      expect(family(run, "web")).toMatchObject({
        image: "ghcr.io/example-org/web:bootstrap",
        repositoryCredentials: { credentialsParameter: GHCR_SECRET },
      });
      expect(family(run, "api").repositoryCredentials).toBeUndefined();
      expect(run.outputs.services.map((s) => s.image)).toEqual(["api", "ghcr.io/example-org/web"]);
      expect(run.outputs.ecrRepositoryUrl).toBe(`${ECR}/api`);
    });

    it("GIVEN the credentials WHEN the execution role's policy is read THEN it is exactly: ECR pulls of api, logs, the containers' secrets, and that one registry secret", () => {
      expect(policyOf(run, "cluster-execution")).toEqual({
        Version: "2012-10-17",
        Statement: [
          { Sid: "EcrToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
          {
            Sid: "PullImages",
            Effect: "Allow",
            Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            Resource: [repositoryArn("api")],
          },
          {
            Sid: "WriteLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: [`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/ecs/gantry-dev/*:*`],
          },
          {
            Sid: "ReadSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [dbSecret],
          },
          {
            Sid: "ReadParameters",
            Effect: "Allow",
            Action: "ssm:GetParameters",
            Resource: [`arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/dev/session-secret`],
          },
          {
            Sid: "ReadRegistryCredentials",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: [GHCR_SECRET],
          },
          {
            Sid: "DecryptRegistryCredentials",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: "*",
            Condition: {
              StringEquals: {
                "kms:ViaService": ["secretsmanager.us-east-1.amazonaws.com"],
                "kms:EncryptionContext:SecretARN": [GHCR_SECRET],
              },
            },
          },
        ],
      });
    });

    it("GIVEN gantry:migration.service web WHEN the migration family is declared THEN it runs web's image with its credentials", () => {
      expect(family(run, "migrate")).toMatchObject({
        image: "ghcr.io/example-org/web:bootstrap",
        repositoryCredentials: { credentialsParameter: GHCR_SECRET },
      });
      expect(run.outputs.migration.service).toBe("web");
    });

    it("GIVEN the ghcr.io image WHEN the deploy role's ECR reads are read THEN they reach only api's repository", () => {
      const deploy = statements(JSON.stringify(policyOf(run, "deploy")));
      expect(resourcesFor(deploy, "ecr:DescribeImages")).toEqual([repositoryArn("api")]);
    });
  });

  it("GIVEN no gantry:migration.service WHEN the migration family is declared THEN it runs the first service's image", async () => {
    const run = await runDev(variant("dev", dev, { api: "api", web: "web" }));
    expect(family(run, "migrate").image).toBe(`${ECR}/api:bootstrap`);
  });

  it("GIVEN a public OCI image and an image in another account's ECR WHEN declared THEN both are used as named, no credentials, the other ECR's ARN built from its host", async () => {
    const other = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/api";
    const run = await runDev(variant("dev", dev, { api: other, web: "quay.io/example/web" }));
    expect(family(run, "api").image).toBe(`${other}:bootstrap`);
    expect(family(run, "web").image).toBe("quay.io/example/web:bootstrap");
    expect(family(run, "web").repositoryCredentials).toBeUndefined();
    expect(run.calls).not.toContain("aws:ecr/getRepository:getRepository");
    const execution = statements(JSON.stringify(policyOf(run, "cluster-execution")));
    expect(resourcesFor(execution, "ecr:BatchGetImage")).toEqual([
      "arn:aws:ecr:eu-west-1:210987654321:repository/shared/api",
    ]);
    expect(resourcesFor(execution, "secretsmanager:GetSecretValue")).toHaveLength(1); // the database's only
    expect(resourcesFor(execution, "kms:Decrypt")).toEqual([]);
  });

  it("GIVEN every image outside ECR WHEN declared THEN the execution role gets no ECR statement and the outputs no ecrRepositoryUrl", async () => {
    const run = await runDev(
      variant("dev", dev, { api: "ghcr.io/example-org/api", web: "ghcr.io/example-org/web" }),
    );
    const execution = statements(JSON.stringify(policyOf(run, "cluster-execution")));
    expect(execution.flatMap((s) => s.actions).filter((a) => a.startsWith("ecr:"))).toEqual([]);
    const deploy = statements(JSON.stringify(policyOf(run, "deploy")));
    expect(deploy.flatMap((s) => s.actions).filter((a) => a.startsWith("ecr:"))).toEqual([]);
    expect(run.outputs.ecrRepositoryUrl).toBeUndefined();
    expect(environmentOutputsSchema.strict().safeParse(run.outputs).error).toBeUndefined();
  });
});

describe("bootstrapSettings with images per service", () => {
  it("GIVEN environments naming ECR repositories, another account's ECR and ghcr.io WHEN combined THEN every own ECR repository once, keeping the most images", async () => {
    const [dev, staging, prod] = await Promise.all(["dev", "staging", "prod"].map(committed));
    const configs = [
      variant("dev", dev!, { api: "api", web: "web" }, { "platform:images": { keepLast: 5 } }),
      variant("staging", staging!, { api: "api" }, { "platform:images": { keepLast: 20 } }),
      variant("prod", prod!, {
        api: "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shared/api",
        web: "ghcr.io/example-org/web",
      }),
    ];
    expect(bootstrapSettings(configs).repositories).toEqual([
      { name: "api", keepLast: 20 },
      { name: "web", keepLast: 5 },
      { name: "app", keepLast: 20 },
    ]);
  });
});
