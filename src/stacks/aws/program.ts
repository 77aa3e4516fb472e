/**
 * The AWS program of every environment on an AWS account (dev, staging, prod, …): one
 * {@link Environment} component made of the network, the database, the cluster and its roles, the
 * load balancer, alarms, one Fargate service per configured service (each task family starting
 * from the service's own image), the migration task family and the GitHub deploy role. Environments differ
 * only by their config; nothing here looks at the environment's name except to name things.
 * Exports exactly {@link EnvironmentOutputs}.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseAlarms, ServiceAlarms } from "./alarms.ts";
import { Cluster } from "./cluster.ts";
import { Database } from "./database.ts";
import { DeployRole } from "./deployRole.ts";
import type { AccountContext } from "./iam.ts";
import { credentialsArns, type ImageSource, ImageSources, repositoryArns } from "./images.ts";
import { LoadBalancer } from "./loadBalancer.ts";
import { Network } from "./network.ts";
import { FargateService } from "./service.ts";
import type { AwsSettings } from "./settings.ts";
import { TaskFamily, type TaskFamilyArgs } from "./taskFamily.ts";
import type { EnvironmentOutputs } from "../outputs.ts";

/** Stack outputs as Pulumi inputs: the shape of {@link EnvironmentOutputs}. */
export type EnvironmentOutputInputs = {
  [K in keyof EnvironmentOutputs]: pulumi.Input<EnvironmentOutputs[K]>;
};

/** Tags on every resource that takes tags (via the provider's default tags). */
export function defaultTags(settings: AwsSettings): Record<string, string> {
  return { "gantry:environment": settings.env, "gantry:managed-by": "pulumi" };
}

/** The environment's AWS resources. */
export class Environment extends pulumi.ComponentResource {
  readonly outputs: EnvironmentOutputInputs;

  constructor(name: string, settings: AwsSettings, opts?: pulumi.ComponentResourceOptions) {
    super("gantry:aws:Environment", name, {}, opts);
    const parent = { parent: this };
    const account: AccountContext = {
      accountId: aws.getCallerIdentityOutput({}, parent).accountId,
      partition: aws.getPartitionOutput({}, parent).partition,
      region: settings.region,
    };

    const network = new Network(
      "network",
      {
        prefix: settings.prefix,
        network: settings.network,
        containerPorts: settings.services.map((svc) => svc.containerPort),
      },
      parent,
    );
    const database = new Database(
      "database",
      {
        database: settings.database,
        privateSubnetIds: network.privateSubnetIds,
        securityGroupId: network.databaseSecurityGroupId,
      },
      parent,
    );
    const sources = new ImageSources(settings.registries, account, this);
    const serviceSources = settings.services.map((svc) => sources.of(svc.image));
    const migrationSource = sources.of(settings.migration.image);
    const pulled = [...serviceSources, migrationSource];

    // Every container gets the database's address and its master credentials, plus the configured secrets.
    const databaseSecrets = {
      DATABASE_USER: pulumi.interpolate`${database.masterSecretArn}:username::`,
      DATABASE_PASSWORD: pulumi.interpolate`${database.masterSecretArn}:password::`,
    };
    const secrets = { ...settings.secrets, ...databaseSecrets };
    const cluster = new Cluster(
      "cluster",
      {
        settings,
        account,
        repositoryArns: repositoryArns(pulled),
        registryCredentialsArns: credentialsArns(pulled),
        secretValueFroms: pulumi.all(Object.values(secrets)),
      },
      parent,
    );
    const taskFamily = (name: string, family: TaskFamilyShape, source: ImageSource): TaskFamily =>
      new TaskFamily(
        name,
        {
          ...family,
          image: pulumi.interpolate`${source.reference}:${settings.images.initialTag}`,
          repositoryCredentials: source.credentialsArn,
          environment: {
            ENVIRONMENT: settings.env,
            APP_VERSION: settings.images.initialTag,
            DATABASE_HOST: database.address,
            DATABASE_PORT: database.port.apply(String),
            DATABASE_NAME: settings.database.dbName,
          },
          secrets,
          logRetentionDays: settings.logRetentionDays,
          region: settings.region,
          executionRoleArn: cluster.executionRole.arn,
          taskRoleArn: cluster.taskRole.arn,
        },
        parent,
      );

    const loadBalancer = new LoadBalancer(
      settings.prefix,
      {
        domain: settings.domain,
        tuning: settings.loadBalancer,
        services: settings.services,
        vpcId: network.vpcId,
        publicSubnetIds: network.publicSubnetIds,
        securityGroupId: network.loadBalancerSecurityGroupId,
      },
      parent,
    );

    const services = loadBalancer.targets.map(({ service: svc, targetGroup }) => {
      const alarms = new ServiceAlarms(
        `${svc.name}-alarms`,
        {
          settings,
          serviceName: svc.name,
          loadBalancerArnSuffix: loadBalancer.loadBalancer.arnSuffix,
          targetGroupArnSuffix: targetGroup.arnSuffix,
        },
        parent,
      );
      const task = taskFamily(svc.name, { ...svc, containerName: svc.name }, sources.of(svc.image));
      const service = new FargateService(
        svc.name,
        {
          service: svc,
          clusterArn: cluster.cluster.arn,
          clusterName: cluster.cluster.name,
          taskDefinitionArn: task.taskDefinition.arn,
          subnetIds: network.privateSubnetIds,
          securityGroupId: network.tasksSecurityGroupId,
          targetGroupArn: targetGroup.arn,
          deploymentAlarmNames: alarms.names,
          dependsOn: [...loadBalancer.routing, alarms],
        },
        parent,
      );
      return { svc, targetGroup, alarms, task, service };
    });

    const migration = taskFamily(settings.migration.containerName, settings.migration, migrationSource);
    const databaseAlarms = new DatabaseAlarms("database-alarms", settings, {
      ...parent,
      dependsOn: [database],
    });
    const alarmNames = [...services.flatMap((s) => s.alarms.names), ...databaseAlarms.names];

    const deployRole = new DeployRole(
      "deploy",
      {
        roleName: settings.roleNames.deploy,
        github: settings.github,
        maxSessionSeconds: settings.deploySessionSeconds,
        scope: {
          partition: account.partition,
          region: settings.region,
          accountId: account.accountId,
          env: settings.env,
          clusterArn: cluster.cluster.arn,
          clusterName: cluster.cluster.name,
          serviceArns: services.map((s) => s.service.service.arn),
          migrationFamilyArn: migration.taskDefinition.arnWithoutRevision,
          taskRoleArn: cluster.taskRole.arn,
          executionRoleArn: cluster.executionRole.arn,
          databaseArn: database.instance.arn,
          snapshotPrefix: settings.database.snapshotPrefix,
          repositoryArns: repositoryArns(pulled),
          stateBucket: settings.stateBucket,
          alarmNames: [...alarmNames, ...settings.extraGateAlarms],
          logGroupArns: [...services.map((s) => s.task.logGroup.arn), migration.logGroup.arn],
        },
      },
      parent,
    );

    const ecrRepositoryUrl = serviceSources.find((source) => source.repositoryArn !== undefined)?.reference;
    this.outputs = {
      clusterName: cluster.cluster.name,
      services: pulumi.all(
        services.map(({ svc, targetGroup, service }) =>
          pulumi.output({
            name: svc.name,
            image: svc.image.name,
            serviceName: service.service.name,
            taskDefinitionFamily: svc.family,
            containerName: svc.name,
            targetGroupArns: [targetGroup.arn],
            healthUrl: svc.healthUrl,
          }),
        ),
      ),
      migration: pulumi.output({
        taskDefinitionFamily: settings.migration.family,
        containerName: settings.migration.containerName,
        service: settings.migration.image.service,
        subnets: network.privateSubnetIds,
        securityGroups: [network.tasksSecurityGroupId],
      }),
      database: pulumi.output({ instanceId: database.identifier }),
      alarmNames,
      ...(ecrRepositoryUrl === undefined ? {} : { ecrRepositoryUrl }),
      deployRoleArn: deployRole.role.arn,
    };
    this.registerOutputs(this.outputs);
  }
}

/** What differs between the task families of the environment. */
type TaskFamilyShape = Pick<
  TaskFamilyArgs,
  "family" | "containerName" | "logGroupName" | "cpu" | "memory" | "containerPort" | "command"
>;

/** The inline program of an AWS environment: an explicit provider for the region, then the environment. */
export function awsProgram(settings: AwsSettings): () => Promise<EnvironmentOutputInputs> {
  return () => {
    const provider = new aws.Provider("aws", {
      region: settings.region,
      defaultTags: { tags: defaultTags(settings) },
    });
    const environment = new Environment(settings.prefix, settings, { providers: [provider] });
    return Promise.resolve(environment.outputs);
  };
}
