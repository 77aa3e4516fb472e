/**
 * The role GitHub Actions assumes (OIDC) to release to this environment. Trust: one repository and
 * one GitHub environment. Permissions: exactly what a release needs, each on this environment's
 * resources only — the services, the migration family, the two task roles, the database and its
 * snapshots, the image repositories, the state bucket prefix, the alarms and the log groups.
 * Actions AWS does not scope by resource (ecs:RegisterTaskDefinition, ecs:DescribeTaskDefinition,
 * ecs:ListTasks — bound to the cluster by a condition —, elasticloadbalancing:DescribeTargetHealth)
 * are the only ones on "*".
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { type PolicyDocument, policyDocument } from "./iam.ts";

/** Host of GitHub Actions' OIDC issuer. */
export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";

/** Resolved ARNs and names the deploy policy is scoped to. */
export interface DeployPolicyScope {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly env: string;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly serviceArns: readonly string[];
  /** ARN of the migration task definition family, without a revision. */
  readonly migrationFamilyArn: string;
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
  readonly databaseArn: string;
  /** Snapshots the role may create and delete are named `<snapshotPrefix>…`. */
  readonly snapshotPrefix: string;
  /** The ECR repositories the environment's images come from (read to resolve tags to digests). */
  readonly repositoryArns: readonly string[];
  readonly stateBucket: { readonly name: string; readonly prefix: string };
  readonly alarmNames: readonly string[];
  readonly logGroupArns: readonly string[];
}

/**
 * Keys of this environment's lock, ledger and journals in the state bucket — the layout of
 * src/orchestrator/lock.ts (`locks/<env>.json`), ledger.ts (`ledger/<env>/…`) and journal.ts
 * (`journal/<env>/…`) under the prefix.
 */
export function stateKeys(scope: Pick<DeployPolicyScope, "stateBucket" | "env">): {
  readonly lock: string;
  readonly ledgerPrefix: string;
  readonly journalPrefix: string;
} {
  const root = scope.stateBucket.prefix;
  return {
    lock: `${root}/locks/${scope.env}.json`,
    ledgerPrefix: `${root}/ledger/${scope.env}/`,
    journalPrefix: `${root}/journal/${scope.env}/`,
  };
}

/** The deploy role's permissions. */
export function deployPolicy(s: DeployPolicyScope): PolicyDocument {
  const arn = (service: string, resource: string): string =>
    `arn:${s.partition}:${service}:${s.region}:${s.accountId}:${resource}`;
  const keys = stateKeys(s);
  const bucket = `arn:${s.partition}:s3:::${s.stateBucket.name}`;
  const snapshots = arn("rds", `snapshot:${s.snapshotPrefix}*`);
  return policyDocument([
    {
      Sid: "ReleaseServices",
      Effect: "Allow",
      Action: ["ecs:UpdateService", "ecs:DescribeServices"],
      Resource: [...s.serviceArns],
    },
    {
      Sid: "RegisterTaskDefinitions",
      Effect: "Allow",
      Action: ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"],
      Resource: "*",
    },
    {
      Sid: "RunMigration",
      Effect: "Allow",
      Action: "ecs:RunTask",
      Resource: [`${s.migrationFamilyArn}:*`],
      Condition: { ArnEquals: { "ecs:cluster": s.clusterArn } },
    },
    {
      Sid: "WatchTasks",
      Effect: "Allow",
      Action: ["ecs:DescribeTasks", "ecs:StopTask"],
      Resource: [arn("ecs", `task/${s.clusterName}/*`)],
    },
    {
      Sid: "ListTasks",
      Effect: "Allow",
      Action: "ecs:ListTasks",
      Resource: "*",
      Condition: { ArnEquals: { "ecs:cluster": s.clusterArn } },
    },
    {
      Sid: "PassTaskRoles",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: [s.taskRoleArn, s.executionRoleArn],
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    },
    {
      Sid: "SnapshotDatabase",
      Effect: "Allow",
      Action: ["rds:CreateDBSnapshot", "rds:DescribeDBSnapshots", "rds:ListTagsForResource"],
      Resource: [s.databaseArn, snapshots],
    },
    {
      Sid: "PruneSnapshots",
      Effect: "Allow",
      Action: ["rds:DeleteDBSnapshot", "rds:AddTagsToResource"],
      Resource: [snapshots],
    },
    {
      Sid: "ReadImages",
      Effect: "Allow",
      Action: ["ecr:DescribeImages", "ecr:BatchGetImage", "ecr:ListImages", "ecr:DescribeRepositories"],
      Resource: [...new Set(s.repositoryArns)].sort(),
    },
    {
      Sid: "LockAndLedgerObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      Resource: [
        `${bucket}/${keys.lock}`,
        `${bucket}/${keys.ledgerPrefix}*`,
        `${bucket}/${keys.journalPrefix}*`,
      ],
    },
    {
      Sid: "LockAndLedgerList",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: [bucket],
      Condition: { StringLike: { "s3:prefix": [`${keys.ledgerPrefix}*`] } },
    },
    {
      Sid: "ReadAlarms",
      Effect: "Allow",
      Action: "cloudwatch:DescribeAlarms",
      Resource: s.alarmNames.map((name) => arn("cloudwatch", `alarm:${name}`)),
    },
    {
      Sid: "ReadLogs",
      Effect: "Allow",
      Action: ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"],
      Resource: s.logGroupArns.flatMap((group) => [group, `${group}:*`]),
    },
    {
      Sid: "ReadTargetHealth",
      Effect: "Allow",
      Action: "elasticloadbalancing:DescribeTargetHealth",
      Resource: "*",
    },
  ]);
}

/** Trust policy: GitHub Actions OIDC tokens of one repository's one environment. */
export function githubTrustPolicy(
  oidcProviderArn: string,
  github: { readonly repository: string; readonly environment: string },
): PolicyDocument {
  return policyDocument([
    {
      Effect: "Allow",
      Principal: { Federated: oidcProviderArn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: {
        StringEquals: {
          [`${GITHUB_OIDC_HOST}:aud`]: "sts.amazonaws.com",
          [`${GITHUB_OIDC_HOST}:sub`]: `repo:${github.repository}:environment:${github.environment}`,
        },
      },
    },
  ]);
}

/** A {@link DeployPolicyScope} whose values (and list items) may still be unresolved. */
export type DeployPolicyScopeInputs = {
  readonly [K in keyof DeployPolicyScope]: DeployPolicyScope[K] extends readonly string[]
    ? readonly pulumi.Input<string>[]
    : pulumi.Input<DeployPolicyScope[K]>;
};

/** Inputs of {@link DeployRole}. */
export interface DeployRoleArgs {
  readonly roleName: string;
  readonly github: { readonly repository: string; readonly environment: string };
  /** How long a session may last: at least the whole deploy, so credentials never expire mid-release. */
  readonly maxSessionSeconds: number;
  readonly scope: DeployPolicyScopeInputs;
}

/** The GitHub OIDC deploy role with its inline policy. */
export class DeployRole extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;

  constructor(name: string, args: DeployRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:DeployRole", name, {}, opts);
    const { scope } = args;
    const oidcProviderArn = pulumi.interpolate`arn:${scope.partition}:iam::${scope.accountId}:oidc-provider/${GITHUB_OIDC_HOST}`;
    this.role = new aws.iam.Role(
      name,
      {
        name: args.roleName,
        description: `gantry releases from ${args.github.repository} (GitHub environment ${args.github.environment})`,
        assumeRolePolicy: oidcProviderArn.apply((arn) => JSON.stringify(githubTrustPolicy(arn, args.github))),
        maxSessionDuration: args.maxSessionSeconds,
      },
      { parent: this },
    );
    const policy = pulumi.output(scope).apply((resolved) => JSON.stringify(deployPolicy(resolved)));
    new aws.iam.RolePolicy(name, { role: this.role.id, policy }, { parent: this });
    this.registerOutputs({ roleArn: this.role.arn });
  }
}
