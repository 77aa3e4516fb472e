/**
 * The network: a VPC with a public and a private subnet in each availability zone and NAT per
 * config (awsx), and the three security groups that say who may talk to whom:
 * internet → load balancer (80, 443) → tasks (container ports) → database (5432).
 */
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { AwsSettings } from "./settings.ts";

/** PostgreSQL's port. */
export const POSTGRES_PORT = 5432;

const NAT_STRATEGY = { single: "Single", onePerAz: "OnePerAz" } as const;

/** Inputs of {@link Network}. */
export interface NetworkArgs {
  readonly prefix: string;
  readonly network: AwsSettings["network"];
  /** Ports the tasks listen on (the load balancer may reach exactly these). */
  readonly containerPorts: readonly number[];
}

/** VPC, subnets, NAT and the security groups of the load balancer, the tasks and the database. */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly publicSubnetIds: pulumi.Output<string[]>;
  /** Where the tasks and the database live. */
  readonly privateSubnetIds: pulumi.Output<string[]>;
  readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
  readonly tasksSecurityGroupId: pulumi.Output<string>;
  readonly databaseSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:Network", name, {}, opts);
    const parent = { parent: this };

    const vpc = new awsx.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.network.cidrBlock,
        numberOfAvailabilityZones: args.network.availabilityZones,
        natGateways: { strategy: NAT_STRATEGY[args.network.natGateways] },
        subnetStrategy: "Auto",
        subnetSpecs: [{ type: "Public" }, { type: "Private" }],
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: args.prefix },
      },
      parent,
    );
    this.vpcId = vpc.vpcId;
    this.publicSubnetIds = vpc.publicSubnetIds;
    this.privateSubnetIds = vpc.privateSubnetIds;

    const group = (role: string, description: string): aws.ec2.SecurityGroup =>
      new aws.ec2.SecurityGroup(
        `${name}-${role}`,
        { vpcId: vpc.vpcId, description, tags: { Name: `${args.prefix}-${role}` } },
        parent,
      );
    const alb = group("alb", "load balancer: HTTP and HTTPS from anywhere");
    const tasks = group("tasks", "ECS tasks: container ports from the load balancer");
    const db = group("db", "RDS: PostgreSQL from the ECS tasks only");

    for (const port of [80, 443]) {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-alb-in-${port}`,
        { securityGroupId: alb.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: "0.0.0.0/0" },
        parent,
      );
    }
    for (const port of new Set(args.containerPorts)) {
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-alb-out-${port}`,
        {
          securityGroupId: alb.id,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          referencedSecurityGroupId: tasks.id,
        },
        parent,
      );
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-tasks-in-${port}`,
        {
          securityGroupId: tasks.id,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          referencedSecurityGroupId: alb.id,
        },
        parent,
      );
    }
    // Image pulls (ECR through NAT), Secrets Manager, CloudWatch Logs and the database.
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-tasks-out`,
      { securityGroupId: tasks.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" },
      parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-db-in`,
      {
        securityGroupId: db.id,
        ipProtocol: "tcp",
        fromPort: POSTGRES_PORT,
        toPort: POSTGRES_PORT,
        referencedSecurityGroupId: tasks.id,
      },
      parent,
    );

    this.loadBalancerSecurityGroupId = alb.id;
    this.tasksSecurityGroupId = tasks.id;
    this.databaseSecurityGroupId = db.id;
    this.registerOutputs({ vpcId: this.vpcId, privateSubnetIds: this.privateSubnetIds });
  }
}
