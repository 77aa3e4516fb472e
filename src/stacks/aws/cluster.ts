/**
 * The ECS cluster and the two roles every task definition of the environment uses: the execution
 * role (what ECS needs to start a task: pull the image, write its logs, read its secrets) and the
 * task role (what the application may call; no permissions until the app needs some). Keeping it
 * to these two roles is what lets the deploy role's iam:PassRole name exactly two ARNs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  type AccountContext,
  ecsTasksTrustPolicy,
  isSsmParameter,
  policyDocument,
  type PolicyStatement,
  secretResourceArn,
} from "./iam.ts";
import type { AwsSettings } from "./settings.ts";

/**
 * What the execution role needs to pull with private registries' credentials: read exactly those
 * secrets, and decrypt them when a customer managed KMS key encrypts them. The key is not known
 * here, so kms:Decrypt names no key but is bound to Secrets Manager of the secrets' regions
 * (`kms:ViaService`) and to exactly those secrets (`kms:EncryptionContext:SecretARN`, which
 * Secrets Manager always sets); secrets under the default `aws/secretsmanager` key need no KMS grant.
 */
function registryCredentialsStatements(arns: readonly string[]): PolicyStatement[] {
  if (arns.length === 0) return [];
  const regions = [...new Set(arns.map((arn) => arn.split(":")[3] ?? ""))].sort();
  return [
    {
      Sid: "ReadRegistryCredentials",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: [...arns],
    },
    {
      Sid: "DecryptRegistryCredentials",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: "*",
      Condition: {
        StringEquals: {
          "kms:ViaService": regions.map((region) => `secretsmanager.${region}.amazonaws.com`),
          "kms:EncryptionContext:SecretARN": [...arns],
        },
      },
    },
  ];
}

/** Inputs of {@link Cluster}. */
export interface ClusterArgs {
  readonly settings: AwsSettings;
  readonly account: AccountContext;
  /** The ECR repositories the tasks pull their images from. */
  readonly repositoryArns: readonly pulumi.Input<string>[];
  /** Private registries' credentials secrets (`repositoryCredentials`) the tasks pull with. */
  readonly registryCredentialsArns: readonly string[];
  /** Every `valueFrom` a container of the environment reads (Secrets Manager or SSM ARNs). */
  readonly secretValueFroms: pulumi.Input<pulumi.Input<string>[]>;
}

/** The cluster, the task execution role and the task role. */
export class Cluster extends pulumi.ComponentResource {
  readonly cluster: aws.ecs.Cluster;
  readonly executionRole: aws.iam.Role;
  readonly taskRole: aws.iam.Role;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:Cluster", name, {}, opts);
    const { settings, account } = args;
    const parent = { parent: this };

    this.cluster = new aws.ecs.Cluster(
      name,
      {
        name: settings.clusterName,
        settings: [{ name: "containerInsights", value: settings.cluster.containerInsights }],
      },
      parent,
    );

    const trust = ecsTasksTrustPolicy(account);
    this.executionRole = new aws.iam.Role(
      `${name}-execution`,
      { name: settings.roleNames.execution, assumeRolePolicy: trust, description: "ECS task execution" },
      parent,
    );
    this.taskRole = new aws.iam.Role(
      `${name}-task`,
      { name: settings.roleNames.task, assumeRolePolicy: trust, description: "the application's tasks" },
      parent,
    );

    const policy = pulumi
      .all([
        account.accountId,
        account.partition,
        pulumi.all([...args.repositoryArns]),
        args.secretValueFroms,
      ])
      .apply(([accountId, partition, repositoryArns, valueFroms]) => {
        const resources = [...new Set(valueFroms.map(secretResourceArn))].sort();
        const logGroups = `arn:${partition}:logs:${settings.region}:${accountId}:log-group:/ecs/${settings.prefix}/*:*`;
        const repositories = [...new Set(repositoryArns)].sort();
        return JSON.stringify(
          policyDocument([
            ...(repositories.length > 0
              ? [
                  {
                    Sid: "EcrToken",
                    Effect: "Allow",
                    Action: "ecr:GetAuthorizationToken",
                    Resource: "*",
                  } as const,
                ]
              : []),
            {
              Sid: "PullImages",
              Effect: "Allow",
              Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
              Resource: repositories,
            },
            {
              Sid: "WriteLogs",
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
              Resource: [logGroups],
            },
            {
              Sid: "ReadSecrets",
              Effect: "Allow",
              Action: "secretsmanager:GetSecretValue",
              Resource: resources.filter((arn) => !isSsmParameter(arn)),
            },
            {
              Sid: "ReadParameters",
              Effect: "Allow",
              Action: "ssm:GetParameters",
              Resource: resources.filter(isSsmParameter),
            },
            ...registryCredentialsStatements(args.registryCredentialsArns),
          ]),
        );
      });
    new aws.iam.RolePolicy(`${name}-execution`, { role: this.executionRole.id, policy }, parent);

    this.registerOutputs({ clusterName: this.cluster.name });
  }
}
