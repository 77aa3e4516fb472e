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
  secretResourceArn,
} from "./iam.ts";
import type { AwsSettings } from "./settings.ts";

/** Inputs of {@link Cluster}. */
export interface ClusterArgs {
  readonly settings: AwsSettings;
  readonly account: AccountContext;
  readonly repositoryArn: pulumi.Input<string>;
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
      .all([account.accountId, account.partition, args.repositoryArn, args.secretValueFroms])
      .apply(([accountId, partition, repositoryArn, valueFroms]) => {
        const resources = [...new Set(valueFroms.map(secretResourceArn))].sort();
        const logGroups = `arn:${partition}:logs:${settings.region}:${accountId}:log-group:/ecs/${settings.prefix}/*:*`;
        return JSON.stringify(
          policyDocument([
            { Sid: "EcrToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
            {
              Sid: "PullImages",
              Effect: "Allow",
              Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
              Resource: [repositoryArn],
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
          ]),
        );
      });
    new aws.iam.RolePolicy(`${name}-execution`, { role: this.executionRole.id, policy }, parent);

    this.registerOutputs({ clusterName: this.cluster.name });
  }
}
