/**
 * Runs a Pulumi program against `pulumi.runtime` mocks (no engine, no provider plugin, no cloud)
 * and records every resource registration as the engine would receive it: type, name, inputs and
 * the resource options that matter here (ignoreChanges, protect, retainOnDelete, parent,
 * dependencies, provider).
 * The fake cloud answers with the inputs plus the computed attributes the program reads.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks.js";
import type { MockCallArgs, MockResourceArgs, Mocks } from "@pulumi/pulumi/runtime/mocks.js";
import { PROJECT_NAME } from "../../../src/config/schema.ts";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";

/** One registration as the engine would see it. */
export interface Registered {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** What the fake cloud answered (inputs plus computed attributes). */
  readonly state: Record<string, unknown>;
  readonly ignoreChanges: readonly string[];
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  readonly parent: string;
  readonly provider: string;
  readonly dependencies: readonly string[];
}

/** The result of one program run. */
export interface Run<O> {
  readonly outputs: O;
  readonly resources: readonly Registered[];
  readonly calls: readonly string[];
}

/** Type prefix of the sandbox stack's dynamic resources (`pulumi-nodejs:dynamic/sandbox:<kind>`). */
export const SANDBOX_TYPE = "pulumi-nodejs:dynamic/sandbox:";

const arn = (service: string, resource: string, region = REGION): string =>
  `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;

const str = (v: unknown, fallback: string): string => (typeof v === "string" ? v : fallback);

/** What the sandbox answers for one emulated resource (`result` of src/stacks/sandbox/resource.ts). */
function sandboxResult(kind: string, name: string, props: Record<string, unknown>): Record<string, unknown> {
  switch (kind) {
    case "network":
      return { vpcId: `vpc-${name}`, subnetIds: [`subnet-${name}-1`], securityGroupIds: [`sg-${name}`] };
    case "cluster":
      return {
        clusterName: props.clusterName,
        clusterArn: arn("ecs", `cluster/${str(props.clusterName, name)}`),
      };
    case "repository": {
      const repositoryName = str(props.repositoryName, name);
      return {
        repositoryName,
        repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repositoryName}`,
      };
    }
    case "logGroup":
      return { logGroupName: props.logGroupName };
    case "alarm":
      return { alarmName: props.alarmName };
    case "dbInstance":
      return { dbInstanceIdentifier: props.dbInstanceIdentifier };
    case "targetGroup":
      return { targetGroupArn: arn("elasticloadbalancing", `targetgroup/${str(props.name, name)}-tg/1`) };
    case "taskDefinition":
      return { taskDefinitionArn: arn("ecs", `task-definition/${str(props.family, name)}:1`) };
    case "service":
      return { serviceName: props.serviceName, healthUrl: `http://127.0.0.1:9/${name}/health` };
    default:
      return {};
  }
}

/** Computed attributes of the resource types the programs create. */
function computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const physical = str(inputs.name, `${name}-abc1234`);
  if (type.startsWith(SANDBOX_TYPE)) {
    const props = (inputs.props ?? {}) as Record<string, unknown>;
    return { result: sandboxResult(type.slice(SANDBOX_TYPE.length), name, props) };
  }
  switch (type) {
    case "awsx:ec2:Vpc": {
      const azs = Number(inputs.numberOfAvailabilityZones ?? 2);
      const ids = (kind: string): string[] => Array.from({ length: azs }, (_, i) => `subnet-${kind}-${i}`);
      return { vpcId: `vpc-${name}`, publicSubnetIds: ids("public"), privateSubnetIds: ids("private") };
    }
    case "aws:ec2/securityGroup:SecurityGroup":
      return { arn: arn("ec2", `security-group/sg-${name}`) };
    case "aws:ecs/cluster:Cluster":
      return { arn: arn("ecs", `cluster/${physical}`) };
    case "aws:ecs/service:Service": {
      const cluster = str(inputs.cluster, "").split("/").pop() ?? "";
      return { arn: arn("ecs", `service/${cluster}/${physical}`) };
    }
    case "aws:ecs/taskDefinition:TaskDefinition": {
      const family = str(inputs.family, name);
      return {
        arn: arn("ecs", `task-definition/${family}:1`),
        arnWithoutRevision: arn("ecs", `task-definition/${family}`),
        revision: 1,
      };
    }
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::${ACCOUNT}:role/${physical}` };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
      return { arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${str(inputs.url, "").replace("https://", "")}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { arn: arn("logs", `log-group:${physical}`) };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { arn: arn("cloudwatch", `alarm:${physical}`) };
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        arn: arn("elasticloadbalancing", `loadbalancer/app/${physical}/50dc6c495c0c9188`),
        arnSuffix: `app/${physical}/50dc6c495c0c9188`,
        dnsName: `${physical}.${REGION}.elb.amazonaws.com`,
        zoneId: "Z35SXDOTRQ7X7K",
      };
    case "aws:lb/targetGroup:TargetGroup":
      return {
        arn: arn("elasticloadbalancing", `targetgroup/${physical}/73e2d6bc24d8a067`),
        arnSuffix: `targetgroup/${physical}/73e2d6bc24d8a067`,
      };
    case "aws:lb/listener:Listener":
    case "aws:lb/listenerRule:ListenerRule":
      return { arn: arn("elasticloadbalancing", `listener/${name}`) };
    case "aws:acm/certificate:Certificate":
      return {
        arn: arn("acm", `certificate/0f6b2a4e-1111-2222-3333-444455556666`),
        domainValidationOptions: [
          {
            domainName: inputs.domainName,
            resourceRecordName: `_x1.${str(inputs.domainName, "")}.`,
            resourceRecordType: "CNAME",
            resourceRecordValue: "_x2.acm-validations.aws.",
          },
        ],
      };
    case "aws:route53/record:Record":
      return { fqdn: str(inputs.name, name) };
    case "aws:rds/instance:Instance": {
      const identifier = str(inputs.identifier, name);
      return {
        arn: arn("rds", `db:${identifier}`),
        address: `${identifier}.cxyz.${REGION}.rds.amazonaws.com`,
        port: 5432,
        masterUserSecrets: [
          {
            secretArn: arn("secretsmanager", `secret:rds!db-0a1b2c3d-AbCdEf`),
            kmsKeyId: "k",
            secretStatus: "active",
          },
        ],
      };
    }
    case "aws:rds/subnetGroup:SubnetGroup":
      return { name: `${name}-abc1234` };
    case "aws:ecr/repository:Repository":
      return {
        arn: arn("ecr", `repository/${physical}`),
        repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${physical}`,
      };
    case "aws:s3/bucket:Bucket": {
      const bucket = str(inputs.bucket, name);
      return { bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    default:
      return {};
  }
}

/** The fake cloud: resources echo their inputs plus computed attributes; invokes answer for one account. */
export const fakeCloud: Mocks = {
  newResource(args: MockResourceArgs) {
    const inputs = args.inputs as Record<string, unknown>;
    return { id: `${args.name}-id`, state: { ...inputs, ...computed(args.type, args.name, inputs) } };
  },
  call(args: MockCallArgs) {
    const inputs = args.inputs as Record<string, unknown>;
    switch (args.token) {
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "AIDA", id: ACCOUNT };
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
      case "aws:route53/getZone:getZone":
        return { zoneId: "Z0123456789ABCDEFGHIJ", name: inputs.name, id: "Z0123456789ABCDEFGHIJ" };
      case "aws:ecr/getRepository:getRepository":
        return {
          name: inputs.name,
          arn: arn("ecr", `repository/${str(inputs.name, "")}`),
          repositoryUrl: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${str(inputs.name, "")}`,
        };
      default:
        throw new Error(`the fake cloud does not answer ${args.token}`);
    }
  },
};

type Struct = Parameters<typeof pulumi.runtime.deserializeProperties>[0];

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getIgnorechangesList(): string[];
  getDependenciesList(): string[];
  getObject(): Struct;
}

/** A mock monitor that records each registration with its options. */
class RecordingMonitor extends MockMonitor {
  readonly registered: Registered[] = [];
  readonly calls: string[] = [];

  constructor() {
    super({
      newResource: (args) => fakeCloud.newResource(args),
      call: (args) => {
        this.calls.push(args.token);
        return fakeCloud.call(args);
      },
    });
  }

  override async registerResource(
    req: RegisterRequest,
    callback: (err: unknown, response: { getUrn(): string; getObject(): Struct } | undefined) => void,
  ): Promise<void> {
    const inputs = pulumi.runtime.deserializeProperties(req.getObject()) as Record<string, unknown>;
    await super.registerResource(
      req,
      (err: unknown, response: { getUrn(): string; getObject(): Struct } | undefined) => {
        if (response) {
          const state = pulumi.runtime.deserializeProperties(response.getObject()) as Record<string, unknown>;
          this.registered.push({
            urn: response.getUrn(),
            type: req.getType(),
            name: req.getName(),
            inputs,
            state,
            ignoreChanges: req.getIgnorechangesList(),
            protect: req.getProtect() === true,
            retainOnDelete: req.getRetainondelete() === true,
            parent: req.getParent(),
            provider: req.getProvider(),
            dependencies: req.getDependenciesList(),
          });
        }
        callback(err, response);
      },
    );
  }
}

/**
 * Run `program` as stack `stack` of the project, the way the Automation API runs an inline program
 * (inside a root Stack resource), wait until every registration is done, and return what happened.
 */
export async function runProgram<O>(stack: string, program: () => Promise<O>): Promise<Run<O>> {
  const monitor = new RecordingMonitor();
  pulumi.runtime.setMockOptions(monitor, PROJECT_NAME, stack, false);
  const outputs = (await pulumi.runtime.runInPulumiStack(program)) as O;
  await pulumi.runtime.disconnect();
  return { outputs, resources: monitor.registered, calls: monitor.calls };
}

/** Select stack `stack` on a fresh mock monitor, for code that only asks which stack it runs in. */
export function selectMockStack(stack: string): void {
  pulumi.runtime.setMockOptions(new RecordingMonitor(), PROJECT_NAME, stack, false);
}

/** The resources of one type. */
export function ofType(run: Run<unknown>, type: string): Registered[] {
  return run.resources.filter((r) => r.type === type);
}

/** The one resource of a type whose inputs match; fails the test otherwise. */
export function only(
  run: Run<unknown>,
  type: string,
  where: (r: Registered) => boolean = () => true,
): Registered {
  const found = ofType(run, type).filter(where);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}
