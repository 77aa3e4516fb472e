/**
 * IAM policy documents as typed data, and the few helpers every role of the stack uses. Documents
 * are built by pure functions from resolved ARNs, so they read like the JSON AWS evaluates.
 */
import * as pulumi from "@pulumi/pulumi";

/** One statement of an IAM policy document. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Principal?: Readonly<Record<string, string | readonly string[]>>;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

/** A document from statements, dropping those left with no resource. */
export function policyDocument(statements: readonly PolicyStatement[]): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: statements.filter((s) => !Array.isArray(s.Resource) || s.Resource.length > 0),
  };
}

/** Where the stack runs, for building ARNs of things it does not create. */
export interface AccountContext {
  readonly accountId: pulumi.Output<string>;
  readonly partition: pulumi.Output<string>;
  readonly region: string;
}

/** Trust policy letting ECS tasks of this account assume a role. */
export function ecsTasksTrustPolicy(account: AccountContext): pulumi.Output<string> {
  return pulumi.all([account.accountId, account.partition]).apply(([accountId, partition]) =>
    JSON.stringify(
      policyDocument([
        {
          Effect: "Allow",
          Principal: { Service: "ecs-tasks.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:SourceAccount": accountId },
            ArnLike: { "aws:SourceArn": `arn:${partition}:ecs:${account.region}:${accountId}:*` },
          },
        },
      ]),
    ),
  );
}

/**
 * The ARN IAM evaluates for a container secret's `valueFrom`: a Secrets Manager reference may carry
 * a `:json-key:version-stage:version-id` suffix, which is not part of the secret's ARN.
 */
export function secretResourceArn(valueFrom: string): string {
  const parts = valueFrom.split(":");
  return parts[2] === "secretsmanager" ? parts.slice(0, 7).join(":") : valueFrom;
}

/** Whether a `valueFrom` is an SSM parameter (otherwise a Secrets Manager secret). */
export function isSsmParameter(valueFrom: string): boolean {
  return valueFrom.split(":")[2] === "ssm";
}
