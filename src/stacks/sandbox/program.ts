/**
 * The sandbox stack: the same shape of environment as the AWS stack (cluster, one Fargate service
 * per configured service behind a target group, task definitions, migration family, alarms, ECR
 * repository, PostgreSQL instance), created in the emulated account through dynamic resources.
 * Exports {@link EnvironmentOutputs}.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EnvironmentConfig } from "../../config/schema.ts";
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

/** The sandbox has no IAM enforcement; this names the role the AWS stack would create. */
export const SANDBOX_DEPLOY_ROLE_ARN = "arn:aws:iam::123456789012:role/gantry-sandbox-deploy";

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
    ): SandboxResource<T> =>
      new SandboxResource<T>(
        name,
        { endpoint: target.endpoint, epoch: target.epoch, kind, name, props },
        { dependsOn },
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
    const repository = make<{ repositoryName: string; repositoryUrl: string }>(
      "repository",
      config.stack.repositoryName,
      { repositoryName: config.stack.repositoryName },
    );
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
    const image = repository.result.apply((r) => `${r.repositoryUrl}:${BOOTSTRAP_TAG}`);
    const logGroupName = logGroup.result.apply((r) => r.logGroupName);

    const services = config.stack.services.map((svc) => {
      const family = `${prefix}-${svc.name}`;
      const targetGroup = make<{ targetGroupArn: string }>("targetGroup", family, {
        name: family,
        port: svc.containerPort,
        healthCheckPath: svc.healthCheckPath,
        vpcId: network.result.apply((n) => n.vpcId),
      });
      const taskDefinition = make<{ taskDefinitionArn: string }>("taskDefinition", family, {
        family,
        containerName: svc.name,
        image,
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
        serviceName: service.result.apply((s) => s.serviceName),
        taskDefinitionFamily: family,
        containerName: svc.name,
        targetGroupArns: [targetGroup.result.apply((t) => t.targetGroupArn)],
        healthUrl: service.result.apply((s) => s.healthUrl),
      };
    });

    const migrationFamily = `${prefix}-migrate`;
    make("taskDefinition", migrationFamily, {
      family: migrationFamily,
      containerName: "migrate",
      image,
      command: config.gantry.migration.command ?? ["migrate"],
      cpu: 256,
      memory: 512,
      environment: { ENVIRONMENT: config.env, APP_VERSION: BOOTSTRAP_TAG },
      logGroupName,
    });

    return Promise.resolve({
      clusterName: cluster.result.apply((c) => c.clusterName),
      services: pulumi.all(services.map((s) => pulumi.output(s))),
      migration: pulumi.output({
        taskDefinitionFamily: migrationFamily,
        containerName: "migrate",
        subnets: network.result.apply((n) => n.subnetIds),
        securityGroups: network.result.apply((n) => n.securityGroupIds),
      }),
      database: pulumi.output({ instanceId: database.result.apply((d) => d.dbInstanceIdentifier) }),
      alarmNames: pulumi.all(alarmNames),
      ecrRepositoryUrl: repository.result.apply((r) => r.repositoryUrl),
      deployRoleArn: SANDBOX_DEPLOY_ROLE_ARN,
    });
  };
}
