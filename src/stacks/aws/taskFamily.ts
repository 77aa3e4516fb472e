/**
 * One task definition family with its own log group: the unit both a service and the migration
 * task are made of. The container gets ENVIRONMENT and APP_VERSION, the database's address, and
 * its secrets from Secrets Manager / SSM (resolved by ECS at task start, never in the stack state);
 * an image from a private registry other than ECR is pulled with the registry's credentials secret.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** Inputs of {@link TaskFamily}. */
export interface TaskFamilyArgs {
  readonly family: string;
  readonly containerName: string;
  readonly cpu: number;
  readonly memory: number;
  readonly image: pulumi.Input<string>;
  /** A private registry's Secrets Manager secret ECS pulls the image with (`repositoryCredentials`). */
  readonly repositoryCredentials?: string | undefined;
  /** The port the container listens on; none for one-off tasks. */
  readonly containerPort?: number;
  readonly command?: readonly string[] | undefined;
  /** Plain environment variables. */
  readonly environment: Readonly<Record<string, pulumi.Input<string>>>;
  /** Variables read by ECS from a Secrets Manager or SSM ARN (`valueFrom`). */
  readonly secrets: Readonly<Record<string, pulumi.Input<string>>>;
  readonly logGroupName: string;
  readonly logRetentionDays: number;
  readonly region: string;
  readonly executionRoleArn: pulumi.Input<string>;
  readonly taskRoleArn: pulumi.Input<string>;
}

const sorted = <T>(record: Readonly<Record<string, T>>): [string, T][] =>
  Object.entries(record).sort(([a], [b]) => a.localeCompare(b));

/** A log group and a Fargate task definition of one container. */
export class TaskFamily extends pulumi.ComponentResource {
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly taskDefinition: aws.ecs.TaskDefinition;

  constructor(name: string, args: TaskFamilyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:TaskFamily", name, {}, opts);
    this.logGroup = new aws.cloudwatch.LogGroup(
      name,
      { name: args.logGroupName, retentionInDays: args.logRetentionDays },
      { parent: this },
    );
    const container = {
      name: args.containerName,
      image: args.image,
      ...(args.repositoryCredentials
        ? { repositoryCredentials: { credentialsParameter: args.repositoryCredentials } }
        : {}),
      essential: true,
      ...(args.command ? { command: args.command } : {}),
      ...(args.containerPort === undefined
        ? {}
        : { portMappings: [{ containerPort: args.containerPort, protocol: "tcp" }] }),
      environment: sorted(args.environment).map(([key, value]) => ({ name: key, value })),
      secrets: sorted(args.secrets).map(([key, valueFrom]) => ({ name: key, valueFrom })),
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": this.logGroup.name,
          "awslogs-region": args.region,
          "awslogs-stream-prefix": args.containerName,
        },
      },
    };
    this.taskDefinition = new aws.ecs.TaskDefinition(
      name,
      {
        family: args.family,
        cpu: String(args.cpu),
        memory: String(args.memory),
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
        executionRoleArn: args.executionRoleArn,
        taskRoleArn: args.taskRoleArn,
        containerDefinitions: pulumi.jsonStringify([container]),
        // Releases register revisions of this family outside Pulumi; a rollback may need any of
        // them, so Pulumi never deregisters a revision it replaces.
        skipDestroy: true,
      },
      { parent: this },
    );
    this.registerOutputs({ family: args.family });
  }
}
