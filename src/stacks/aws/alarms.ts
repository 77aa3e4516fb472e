/**
 * CloudWatch alarms, as a catalog: each kind names its metric, statistic, comparison and how many
 * one-minute periods must breach. Service kinds exist once per service and roll that service's
 * deployment back (ECS deployment alarms); database kinds only feed gantry's gates. Every name is
 * exported in EnvironmentOutputs.alarmNames.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AlarmKind } from "../../config/schema.ts";
import { alarmName, type AwsSettings } from "./settings.ts";

const PERIOD_SECONDS = 60;

interface AlarmSpec {
  readonly description: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly statistic: "Sum" | "Maximum" | "Average" | "Minimum";
  readonly comparisonOperator: string;
  readonly threshold: number;
  readonly evaluationPeriods: number;
}

type Thresholds = AwsSettings["alarmThresholds"];

/** What each service kind measures. */
function serviceSpec(kind: AlarmKind, t: Thresholds): AlarmSpec | undefined {
  switch (kind) {
    case "http-5xx":
      return {
        description: `targets answered >= ${t.http5xxPerMinute} 5xx in a minute`,
        namespace: "AWS/ApplicationELB",
        metricName: "HTTPCode_Target_5XX_Count",
        statistic: "Sum",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: t.http5xxPerMinute,
        evaluationPeriods: 1,
      };
    case "unhealthy-hosts":
      return {
        description: `>= ${t.unhealthyHosts} unhealthy targets for 2 minutes`,
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        statistic: "Maximum",
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        threshold: t.unhealthyHosts,
        evaluationPeriods: 2,
      };
    case "cpu":
    case "memory":
      return {
        description: `service ${kind} above ${kind === "cpu" ? t.cpuPercent : t.memoryPercent}% for 3 minutes`,
        namespace: "AWS/ECS",
        metricName: kind === "cpu" ? "CPUUtilization" : "MemoryUtilization",
        statistic: "Average",
        comparisonOperator: "GreaterThanThreshold",
        threshold: kind === "cpu" ? t.cpuPercent : t.memoryPercent,
        evaluationPeriods: 3,
      };
    default:
      return undefined;
  }
}

/** What each database kind measures; free storage is a share of the allocated storage. */
function databaseSpec(kind: AlarmKind, t: Thresholds, allocatedGiB: number): AlarmSpec | undefined {
  switch (kind) {
    case "db-cpu":
      return {
        description: `database CPU above ${t.dbCpuPercent}% for 3 minutes`,
        namespace: "AWS/RDS",
        metricName: "CPUUtilization",
        statistic: "Average",
        comparisonOperator: "GreaterThanThreshold",
        threshold: t.dbCpuPercent,
        evaluationPeriods: 3,
      };
    case "db-free-storage":
      return {
        description: `database free storage below ${t.dbFreeStoragePercent}% of ${allocatedGiB} GiB`,
        namespace: "AWS/RDS",
        metricName: "FreeStorageSpace",
        statistic: "Minimum",
        comparisonOperator: "LessThanThreshold",
        threshold: Math.round(allocatedGiB * 1024 ** 3 * (t.dbFreeStoragePercent / 100)),
        evaluationPeriods: 2,
      };
    default:
      return undefined;
  }
}

function alarm(
  name: string,
  spec: AlarmSpec,
  dimensions: pulumi.Input<Record<string, pulumi.Input<string>>>,
  parent: pulumi.Resource,
): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(
    name,
    {
      name,
      alarmDescription: spec.description,
      namespace: spec.namespace,
      metricName: spec.metricName,
      statistic: spec.statistic,
      comparisonOperator: spec.comparisonOperator,
      threshold: spec.threshold,
      period: PERIOD_SECONDS,
      evaluationPeriods: spec.evaluationPeriods,
      datapointsToAlarm: spec.evaluationPeriods,
      // No traffic, or a metric that has not started yet, is not a failure.
      treatMissingData: "notBreaching",
      dimensions,
    },
    { parent },
  );
}

/** Inputs of {@link ServiceAlarms}. */
export interface ServiceAlarmsArgs {
  readonly settings: AwsSettings;
  readonly serviceName: string;
  readonly loadBalancerArnSuffix: pulumi.Input<string>;
  readonly targetGroupArnSuffix: pulumi.Input<string>;
}

/** The configured service kinds for one service. */
export class ServiceAlarms extends pulumi.ComponentResource {
  /** Alarm names, also the service's deployment (rollback) alarms. */
  readonly names: readonly string[];

  constructor(name: string, args: ServiceAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:ServiceAlarms", name, {}, opts);
    const { settings, serviceName } = args;
    const names: string[] = [];
    for (const kind of settings.alarms) {
      const spec = serviceSpec(kind, settings.alarmThresholds);
      if (!spec) continue;
      const dimensions: Record<string, pulumi.Input<string>> = spec.namespace === "AWS/ECS"
        ? { ClusterName: settings.clusterName, ServiceName: serviceName }
        : { LoadBalancer: args.loadBalancerArnSuffix, TargetGroup: args.targetGroupArnSuffix };
      const alarmNameOf = alarmName(settings.prefix, kind, serviceName);
      alarm(alarmNameOf, spec, dimensions, this);
      names.push(alarmNameOf);
    }
    this.names = names;
    this.registerOutputs({ names });
  }
}

/** The configured database kinds. */
export class DatabaseAlarms extends pulumi.ComponentResource {
  readonly names: readonly string[];

  constructor(name: string, settings: AwsSettings, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:DatabaseAlarms", name, {}, opts);
    const names: string[] = [];
    for (const kind of settings.alarms) {
      const spec = databaseSpec(kind, settings.alarmThresholds, settings.database.allocatedStorage);
      if (!spec) continue;
      const alarmNameOf = alarmName(settings.prefix, kind);
      alarm(alarmNameOf, spec, { DBInstanceIdentifier: settings.database.identifier }, this);
      names.push(alarmNameOf);
    }
    this.names = names;
    this.registerOutputs({ names });
  }
}
