/**
 * The stack of an environment on the sandbox account: the same shape of environment as the AWS
 * stack (cluster, one Fargate service per configured service behind a target group, task
 * definitions, migration family, alarms, ECR repositories, PostgreSQL instance), created in the
 * emulated account through dynamic resources. Several environments share that one account, so
 * every name the stack gives carries the environment (`gantry-<env>…`), except the ECR
 * repositories, which the environments share as they do on AWS. Exports {@link EnvironmentOutputs}.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { formatImageName } from "../../config/image.ts";
import type { EnvironmentConfig } from "../../config/schema.ts";
import {
  migrationImage,
  ownEcrRepositories,
  type ServiceImage,
  serviceImage,
  serviceImages,
} from "../images.ts";
import type { EnvironmentOutputs } from "../outputs.ts";
import { SandboxResource } from "./resource.ts";

/** Where the program finds the running sandbox. */
export interface SandboxTarget {
  readonly endpoint: string;
  /** Changes whenever the sandbox restarts or is reset, so resources are re-created there. */
  readonly epoch: string;
}

/** Tag of the image the services start from, before the first release. */
export const BOOTSTRAP_TAG = "bootstrap";

/** The sandbox has no IAM enforcement; this names the role the AWS stack would create for `prefix`. */
export function sandboxDeployRoleArn(prefix: string): string {
  return `arn:aws:iam::123456789012:role/${prefix}-deploy`;
}

/** Longest name the sandbox gives a load balancer or target group before its `-alb` / `-tg` suffix (ELB allows 32). */
const ELB_NAME_LENGTH = 28;

/**
 * The name of a target group (and its load balancer) in the emulated ELB: the family when it fits,
 * else its start and a hash of the whole, so that long environment and service names stay distinct.
 */
export function sandboxElbName(family: string): string {
  if (family.length <= ELB_NAME_LENGTH) return family;
  const hash = createHash("sha256").update(family).digest("hex").slice(0, 8);
  return `${family.slice(0, ELB_NAME_LENGTH - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

type Outputs = { [K in keyof EnvironmentOutputs]: pulumi.Input<EnvironmentOutputs[K]> };

/** Build the inline Pulumi program of the sandbox stack. */
export function sandboxProgram(config: EnvironmentConfig, target: SandboxTarget): () => Promise<Outputs> {
  return () => {
    const prefix = `gantry-${config.env}`;
    const make = <T extends Record<string, unknown>>(
      kind: string,
      name: string,
      props: pulumi.Input<Record<string, unknown>>,
      dependsOn: pulumi.Resource[] = [],
      opts: pulumi.CustomResourceOptions = {},
    ): SandboxResource<T> =>
      new SandboxResource<T>(
        name,
        { endpoint: target.endpoint, epoch: target.epoch, kind, name, props },
        { ...opts, dependsOn },
      );

    const network = make<{ vpcId: string; subnetIds: string[]; securityGroupIds: string[] }>(
      "network",
      prefix,
      {
        cidrBlock: "10.42.0.0/16",
      },
    );
    const cluster = make<{ clusterName: string; clusterArn: string }>("cluster", prefix, {
      clusterName: prefix,
    });
    // One per repository the images name; shared with the account's other environments, so
    // destroying this one leaves them (and their images) to the others.
    const images = serviceImages(config);
    const repositories = new Map(
      ownEcrRepositories(images).map((name) => [
        name,
        make<{ repositoryName: string; repositoryUrl: string }>(
          "repository",
          name,
          { repositoryName: name },
          [],
          { retainOnDelete: true },
        ),
      ]),
    );
    const repositoryOf = ({ parsed }: ServiceImage) =>
      parsed.kind === "ecr" && parsed.registryId === undefined
        ? repositories.get(parsed.repository)
        : undefined;
    /** The image a task family starts from: `<repository URL>:bootstrap` in the sandbox's ECR, else the name as given. */
    const imageOf = (image: ServiceImage): pulumi.Input<string> =>
      repositoryOf(image)?.result.apply((r) => `${r.repositoryUrl}:${BOOTSTRAP_TAG}`) ??
      `${formatImageName(image.parsed)}:${BOOTSTRAP_TAG}`;
    const logGroup = make<{ logGroupName: string }>("logGroup", prefix, {
      logGroupName: `/ecs/${prefix}`,
      retentionInDays: 14,
    });
    const alarms = config.stack.alarms.map((alarm) =>
      make<{ alarmName: string }>("alarm", `${prefix}-${alarm}`, {
        alarmName: `${prefix}-${alarm}`,
        metricName: alarm,
        namespace: "Gantry/Sandbox",
        threshold: 1,
      }),
    );
    const alarmNames = alarms.map((a) => a.result.apply((r) => r.alarmName));
    const database = make<{ dbInstanceIdentifier: string }>("dbInstance", `${prefix}-db`, {
      dbInstanceIdentifier: `${prefix}-db`,
      instanceClass: config.stack.database.instanceClass,
      allocatedStorage: config.stack.database.allocatedStorage,
    });
    const logGroupName = logGroup.result.apply((r) => r.logGroupName);

    const services = config.stack.services.map((svc, i) => {
      const family = `${prefix}-${svc.name}`;
      const image = serviceImage(config, svc, i);
      const targetGroup = make<{ targetGroupArn: string }>("targetGroup", family, {
        name: sandboxElbName(family),
        port: svc.containerPort,
        healthCheckPath: svc.healthCheckPath,
        vpcId: network.result.apply((n) => n.vpcId),
      });
      const taskDefinition = make<{ taskDefinitionArn: string }>("taskDefinition", family, {
        family,
        containerName: svc.name,
        image: imageOf(image),
        cpu: svc.cpu,
        memory: svc.memory,
        containerPort: svc.containerPort,
        environment: { ENVIRONMENT: config.env, APP_VERSION: BOOTSTRAP_TAG },
        logGroupName,
      });
      const service = make<{ serviceName: string; healthUrl: string }>(
        "service",
        family,
        {
          cluster: cluster.result.apply((c) => c.clusterName),
          serviceName: svc.name,
          taskDefinitionArn: taskDefinition.result.apply((t) => t.taskDefinitionArn),
          desiredCount: svc.desiredCount,
          targetGroupArn: targetGroup.result.apply((t) => t.targetGroupArn),
          containerName: svc.name,
          containerPort: svc.containerPort,
          subnets: network.result.apply((n) => n.subnetIds),
          securityGroups: network.result.apply((n) => n.securityGroupIds),
          circuitBreakerRollback: true,
          alarmNames,
        },
        [...alarms],
      );
      return {
        name: svc.name,
        image: image.name,
        serviceName: service.result.apply((s) => s.serviceName),
        taskDefinitionFamily: family,
        containerName: svc.name,
        targetGroupArns: [targetGroup.result.apply((t) => t.targetGroupArn)],
        healthUrl: service.result.apply((s) => s.healthUrl),
      };
    });

    const migrationFamily = `${prefix}-migrate`;
    const migration = migrationImage(config);
    make("taskDefinition", migrationFamily, {
      family: migrationFamily,
      containerName: "migrate",
      image: imageOf(migration),
      command: config.gantry.migration.command ?? ["migrate"],
      cpu: 256,
      memory: 512,
      environment: { ENVIRONMENT: config.env, APP_VERSION: BOOTSTRAP_TAG },
      logGroupName,
    });

    const ecrRepositoryUrl = images
      .map(repositoryOf)
      .find((repository) => repository !== undefined)
      ?.result.apply((r) => r.repositoryUrl);
    return Promise.resolve({
      clusterName: cluster.result.apply((c) => c.clusterName),
      services: pulumi.all(services.map((s) => pulumi.output(s))),
      migration: pulumi.output({
        taskDefinitionFamily: migrationFamily,
        containerName: "migrate",
        service: migration.service,
        subnets: network.result.apply((n) => n.subnetIds),
        securityGroups: network.result.apply((n) => n.securityGroupIds),
      }),
      database: pulumi.output({ instanceId: database.result.apply((d) => d.dbInstanceIdentifier) }),
      alarmNames: pulumi.all(alarmNames),
      ...(ecrRepositoryUrl === undefined ? {} : { ecrRepositoryUrl }),
      deployRoleArn: sandboxDeployRoleArn(prefix),
    });
  };
}
