/**
 * One Fargate service behind its target group, in the private subnets. Deployments are guarded by
 * the circuit breaker and by the service's alarms, both with automatic rollback. Pulumi creates
 * the service and owns its shape; releases (gantry) own the task definition and autoscaling owns
 * the desired count, so the service ignores changes to both.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceSettings } from "./settings.ts";

/** Properties of the ECS service that Pulumi sets once and then leaves to releases and autoscaling. */
export const RELEASE_OWNED_PROPERTIES = ["taskDefinition", "desiredCount"];

/** Inputs of {@link FargateService}. */
export interface FargateServiceArgs {
  readonly service: ServiceSettings;
  readonly clusterArn: pulumi.Input<string>;
  readonly clusterName: pulumi.Input<string>;
  readonly taskDefinitionArn: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<string[]>;
  readonly securityGroupId: pulumi.Input<string>;
  readonly targetGroupArn: pulumi.Input<string>;
  /** Alarms that fail (and roll back) a deployment of this service. */
  readonly deploymentAlarmNames: readonly string[];
  /** What must exist before ECS can register tasks (listener routing, alarms). */
  readonly dependsOn: readonly pulumi.Resource[];
}

/** An ECS service with optional CPU target-tracking autoscaling. */
export class FargateService extends pulumi.ComponentResource {
  readonly service: aws.ecs.Service;

  constructor(name: string, args: FargateServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:FargateService", name, {}, opts);
    const svc = args.service;
    this.service = new aws.ecs.Service(
      name,
      {
        name: svc.name,
        cluster: args.clusterArn,
        taskDefinition: args.taskDefinitionArn,
        desiredCount: svc.desiredCount,
        launchType: "FARGATE",
        platformVersion: "LATEST",
        networkConfiguration: {
          subnets: args.subnetIds,
          securityGroups: [args.securityGroupId],
          assignPublicIp: false,
        },
        loadBalancers: [
          { targetGroupArn: args.targetGroupArn, containerName: svc.name, containerPort: svc.containerPort },
        ],
        healthCheckGracePeriodSeconds: svc.healthCheckGracePeriodSeconds,
        deploymentMinimumHealthyPercent: svc.minHealthyPercent,
        deploymentMaximumPercent: svc.maxHealthyPercent,
        deploymentController: { type: "ECS" },
        deploymentCircuitBreaker: { enable: true, rollback: true },
        ...(args.deploymentAlarmNames.length > 0
          ? { alarms: { alarmNames: [...args.deploymentAlarmNames], enable: true, rollback: true } }
          : {}),
        propagateTags: "SERVICE",
        enableEcsManagedTags: true,
        // gantry waits for and verifies rollouts itself; `pulumi up` must not block on them.
        waitForSteadyState: false,
      },
      { parent: this, ignoreChanges: RELEASE_OWNED_PROPERTIES, dependsOn: [...args.dependsOn] },
    );

    const scaling = svc.autoscaling;
    if (scaling) {
      const target = new aws.appautoscaling.Target(
        `${name}-scaling`,
        {
          serviceNamespace: "ecs",
          scalableDimension: "ecs:service:DesiredCount",
          resourceId: pulumi.interpolate`service/${args.clusterName}/${this.service.name}`,
          minCapacity: scaling.minCount,
          maxCapacity: scaling.maxCount,
        },
        { parent: this },
      );
      new aws.appautoscaling.Policy(
        `${name}-cpu`,
        {
          policyType: "TargetTrackingScaling",
          serviceNamespace: target.serviceNamespace,
          scalableDimension: target.scalableDimension,
          resourceId: target.resourceId,
          targetTrackingScalingPolicyConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
            targetValue: scaling.cpuTargetPercent,
            scaleInCooldown: scaling.scaleInCooldownSeconds,
            scaleOutCooldown: scaling.scaleOutCooldownSeconds,
          },
        },
        { parent: this },
      );
    }
    this.registerOutputs({ serviceName: this.service.name });
  }
}
