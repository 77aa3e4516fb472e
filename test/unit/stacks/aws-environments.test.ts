/**
 * The AWS program of dev, staging and prod, run with Pulumi mocks (no engine, no provider plugin,
 * no cloud) on the committed Pulumi.<env>.yaml, loaded through src/config exactly as gantry loads
 * it. Every assertion reads what the engine would receive: resource inputs and resource options.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { loadEnvironmentConfig } from "../../../src/config/load.ts";
import type { EnvironmentConfig } from "../../../src/config/schema.ts";
import { awsSettings } from "../../../src/stacks/aws/settings.ts";
import { environmentProgram } from "../../../src/stacks/index.ts";
import { environmentOutputsSchema, type EnvironmentOutputs } from "../../../src/stacks/outputs.ts";
import { projectRoot } from "../../../src/tools/paths.ts";
import { ACCOUNT, ofType, only, type Registered, runProgram, type Run } from "./mocks.ts";
import { isMutatingEcsOrRds, resourcesFor, type Statement, statements } from "./policies.ts";

const T = {
  vpc: "awsx:ec2:Vpc",
  cluster: "aws:ecs/cluster:Cluster",
  service: "aws:ecs/service:Service",
  taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
  db: "aws:rds/instance:Instance",
  dbSubnets: "aws:rds/subnetGroup:SubnetGroup",
  securityGroup: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  listener: "aws:lb/listener:Listener",
  listenerRule: "aws:lb/listenerRule:ListenerRule",
  loadBalancer: "aws:lb/loadBalancer:LoadBalancer",
  certificate: "aws:acm/certificate:Certificate",
  certificateValidation: "aws:acm/certificateValidation:CertificateValidation",
  record: "aws:route53/record:Record",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  scalingTarget: "aws:appautoscaling/target:Target",
  scalingPolicy: "aws:appautoscaling/policy:Policy",
  ecrRepository: "aws:ecr/repository:Repository",
  provider: "pulumi:providers:aws",
} as const;

/** The sizing table, written out independently of the config files. */
const EXPECTED = {
  dev: {
    azs: 2,
    nat: "Single",
    containerInsights: "disabled",
    task: { cpu: "256", memory: "512" },
    desiredCount: 1,
    db: { instanceClass: "db.t4g.micro", allocatedStorage: 20, multiAz: false },
    backupRetentionPeriod: 1,
    protectedDatabase: false,
    autoscaling: false,
    domain: "dev.example.com",
  },
  staging: {
    azs: 2,
    nat: "Single",
    containerInsights: "disabled",
    task: { cpu: "512", memory: "1024" },
    desiredCount: 1,
    db: { instanceClass: "db.t4g.small", allocatedStorage: 20, multiAz: false },
    backupRetentionPeriod: 3,
    protectedDatabase: false,
    autoscaling: false,
    domain: "staging.example.com",
  },
  prod: {
    azs: 3,
    nat: "OnePerAz",
    containerInsights: "enabled",
    task: { cpu: "1024", memory: "2048" },
    desiredCount: 2,
    db: { instanceClass: "db.r6g.large", allocatedStorage: 100, multiAz: true },
    backupRetentionPeriod: 7,
    protectedDatabase: true,
    autoscaling: true,
    domain: "example.com",
  },
} as const;

type AwsEnv = keyof typeof EXPECTED;
const AWS_ENVS = Object.keys(EXPECTED) as AwsEnv[];

interface Container {
  name: string;
  image: string;
  command?: string[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  logConfiguration: { logDriver: string; options: Record<string, string> };
}
const containerOf = (taskDefinition: Registered): Container => {
  const [container] = JSON.parse(String(taskDefinition.inputs.containerDefinitions)) as Container[];
  return container!;
};
const stateOf = (r: Registered, key: string): unknown => r.state[key];

describe.each(AWS_ENVS)("the %s stack (mocks, committed Pulumi file)", (env) => {
  const expected = EXPECTED[env];
  let config: EnvironmentConfig;
  let run: Run<EnvironmentOutputs>;
  let services: Registered[];
  let rolePolicies: Map<string, Statement[]>;

  beforeAll(async () => {
    config = await loadEnvironmentConfig(projectRoot, env);
    run = await runProgram(env, environmentProgram(config) as () => Promise<EnvironmentOutputs>);
    services = ofType(run, T.service);
    rolePolicies = new Map(ofType(run, T.rolePolicy).map((p) => [p.name, statements(p.inputs.policy)]));
  });

  const roleArn = (name: string): string =>
    String(
      stateOf(
        only(run, T.role, (r) => r.inputs.name === name),
        "arn",
      ),
    );
  const deployPolicy = (): Statement[] => rolePolicies.get("deploy")!;

  it("GIVEN the outputs WHEN validated THEN they are exactly the EnvironmentOutputs contract", () => {
    const parsed = environmentOutputsSchema.strict().safeParse(run.outputs);
    expect(parsed.error).toBeUndefined();
    expect(run.outputs.services.map((s) => s.healthUrl)).toEqual(
      config.stack.services.map((s) => `https://${expected.domain}${s.healthCheckPath}`),
    );
    expect(run.outputs.clusterName).toBe(`gantry-${env}`);
    expect(run.outputs.database.instanceId).toBe(`gantry-${env}-db`);
  });

  it("GIVEN the sizing table WHEN the stack is declared THEN AZs, NAT, Container Insights, tasks and database match it", () => {
    const vpc = only(run, T.vpc);
    expect(vpc.inputs.numberOfAvailabilityZones).toBe(expected.azs);
    expect(vpc.inputs.natGateways).toEqual({ strategy: expected.nat });
    expect(only(run, T.cluster).inputs.settings).toEqual([
      { name: "containerInsights", value: expected.containerInsights },
    ]);
    expect(services).toHaveLength(2);
    for (const service of services) {
      expect(service.inputs.desiredCount).toBe(expected.desiredCount);
      const family = `gantry-${env}-${String(service.inputs.name)}`;
      const task = only(run, T.taskDefinition, (t) => t.inputs.family === family);
      expect({ cpu: task.inputs.cpu, memory: task.inputs.memory }).toEqual(expected.task);
      expect(service.inputs.taskDefinition).toBe(stateOf(task, "arn"));
    }
    const db = only(run, T.db);
    expect({
      instanceClass: db.inputs.instanceClass,
      allocatedStorage: db.inputs.allocatedStorage,
      multiAz: db.inputs.multiAz,
    }).toEqual(expected.db);
  });

  it("GIVEN the network WHEN tasks and the database are placed THEN both are in the private subnets only", () => {
    const vpc = only(run, T.vpc);
    const privateSubnets = stateOf(vpc, "privateSubnetIds");
    expect(privateSubnets).toHaveLength(expected.azs);
    for (const service of services) {
      expect(service.inputs.networkConfiguration).toMatchObject({
        subnets: privateSubnets,
        assignPublicIp: false,
      });
    }
    expect(only(run, T.dbSubnets).inputs.subnetIds).toEqual(privateSubnets);
    expect(run.outputs.migration.subnets).toEqual(privateSubnets);
  });

  it("GIVEN the database WHEN declared THEN it is encrypted, not public, with a managed password and the env's backups and protection", () => {
    const db = only(run, T.db);
    expect(db.inputs).toMatchObject({
      engine: "postgres",
      storageEncrypted: true,
      publiclyAccessible: false,
      manageMasterUserPassword: true,
      backupRetentionPeriod: expected.backupRetentionPeriod,
      deletionProtection: expected.protectedDatabase,
      skipFinalSnapshot: !expected.protectedDatabase,
    });
    expect(db.inputs.backupWindow).toMatch(/^\d\d:\d\d-\d\d:\d\d$/);
    expect(db.inputs.password).toBeUndefined();
    if (expected.protectedDatabase) expect(db.inputs.finalSnapshotIdentifier).toBe(`final-gantry-${env}-db`);
    else expect(db.inputs.finalSnapshotIdentifier).toBeUndefined();
  });

  it("GIVEN the database's security group WHEN its rules are read THEN only the tasks' group may connect, on 5432", () => {
    const db = only(run, T.db);
    const [dbGroupId] = db.inputs.vpcSecurityGroupIds as string[];
    const tasksGroupId = (services[0]!.inputs.networkConfiguration as { securityGroups: string[] })
      .securityGroups[0];
    const rules = ofType(run, T.ingress).filter((r) => r.inputs.securityGroupId === dbGroupId);
    expect(rules.map((r) => r.inputs)).toEqual([
      expect.objectContaining({
        ipProtocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        referencedSecurityGroupId: tasksGroupId,
      }),
    ]);
    expect(rules[0]!.inputs.cidrIpv4).toBeUndefined();
    expect(run.outputs.migration.securityGroups).toEqual([tasksGroupId]);
  });

  it("GIVEN every service WHEN a deployment fails THEN the circuit breaker and the service's own alarms roll it back", () => {
    const exported = new Set(run.outputs.alarmNames);
    for (const service of services) {
      const name = String(service.inputs.name);
      expect(service.inputs.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
      const alarms = service.inputs.alarms as { alarmNames: string[]; enable: boolean; rollback: boolean };
      expect(alarms).toMatchObject({ enable: true, rollback: true });
      expect(alarms.alarmNames.sort()).toEqual(
        ["cpu", "http-5xx", "memory", "unhealthy-hosts"].map((k) => `gantry-${env}-${name}-${k}`),
      );
      for (const alarmName of alarms.alarmNames) {
        expect(exported.has(alarmName)).toBe(true);
        // The alarm is a resource of the stack, and the engine creates it before the service.
        const alarm = only(run, T.alarm, (a) => a.inputs.name === alarmName);
        expect(service.dependencies).toContain(alarm.urn);
      }
    }
  });

  it("GIVEN every service WHEN declared THEN it ignores changes to taskDefinition and desiredCount (releases and autoscaling own them)", () => {
    for (const service of services) {
      expect([...service.ignoreChanges].sort()).toEqual(["desiredCount", "taskDefinition"]);
    }
  });

  it("GIVEN every service WHEN declared THEN min/max healthy percent and health-check grace come from config", () => {
    for (const service of services) {
      const svc = config.stack.services.find((s) => s.name === service.inputs.name)!;
      expect(service.inputs).toMatchObject({
        deploymentMinimumHealthyPercent: svc.minHealthyPercent,
        deploymentMaximumPercent: svc.maxHealthyPercent,
        healthCheckGracePeriodSeconds: svc.healthCheckGracePeriodSeconds,
        launchType: "FARGATE",
      });
    }
  });

  it("GIVEN the autoscaling config WHEN declared THEN CPU target tracking exists exactly where configured", () => {
    const targets = ofType(run, T.scalingTarget);
    const policies = ofType(run, T.scalingPolicy);
    if (!expected.autoscaling) {
      expect(targets).toEqual([]);
      expect(policies).toEqual([]);
      return;
    }
    expect(targets.map((t) => [t.inputs.minCapacity, t.inputs.maxCapacity])).toEqual(
      config.stack.services.map((s) => [s.autoscaling?.minCount, s.autoscaling?.maxCount]),
    );
    for (const policy of policies) {
      expect(policy.inputs.targetTrackingScalingPolicyConfiguration).toMatchObject({
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
        targetValue: 60,
      });
    }
  });

  it("GIVEN each target group WHEN its health check is read THEN interval 5-10 s, healthy threshold 2, deregistration <= 30 s", () => {
    const groups = ofType(run, T.targetGroup);
    expect(groups).toHaveLength(services.length);
    for (const group of groups) {
      const check = group.inputs.healthCheck as Record<string, unknown>;
      expect(check.interval).toBeGreaterThanOrEqual(5);
      expect(check.interval).toBeLessThanOrEqual(10);
      expect(check.healthyThreshold).toBe(2);
      expect(group.inputs.deregistrationDelay).toBeLessThanOrEqual(30);
      expect(group.inputs.targetType).toBe("ip");
    }
    expect(groups.map((g) => (g.inputs.healthCheck as { path: string }).path)).toEqual(
      config.stack.services.map((s) => s.healthCheckPath),
    );
  });

  it("GIVEN the load balancer WHEN its listeners are read THEN HTTPS uses the validated certificate and HTTP redirects to it", () => {
    const listeners = ofType(run, T.listener);
    const https = listeners.find((l) => l.inputs.port === 443)!;
    const http = listeners.find((l) => l.inputs.port === 80)!;
    expect(https.inputs.protocol).toBe("HTTPS");
    expect(https.inputs.certificateArn).toBe(stateOf(only(run, T.certificateValidation), "certificateArn"));
    expect(only(run, T.certificate).inputs).toMatchObject({
      domainName: expected.domain,
      validationMethod: "DNS",
    });
    expect(http.inputs.defaultActions).toEqual([
      { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
    ]);
    // A service only starts once the HTTPS listener routes to its target group.
    for (const service of services) expect(service.dependencies).toContain(https.urn);
  });

  it("GIVEN the domain WHEN DNS is declared THEN an alias of the ALB answers for the env's domain", () => {
    const alias = only(run, T.record, (r) => r.inputs.type === "A");
    expect(alias.inputs.name).toBe(expected.domain);
    const alb = only(run, T.loadBalancer);
    expect(alias.inputs.aliases).toEqual([
      { name: stateOf(alb, "dnsName"), zoneId: stateOf(alb, "zoneId"), evaluateTargetHealth: true },
    ]);
  });

  it("GIVEN every task family WHEN declared THEN it has its own log group with 14 days retention", () => {
    const tasks = ofType(run, T.taskDefinition);
    expect(tasks.map((t) => t.inputs.family).sort()).toEqual(
      [...config.stack.services.map((s) => `gantry-${env}-${s.name}`), `gantry-${env}-migrate`].sort(),
    );
    const groups = ofType(run, T.logGroup);
    expect(groups).toHaveLength(tasks.length);
    for (const group of groups) expect(group.inputs.retentionInDays).toBe(14);
    const used = tasks.map((t) => containerOf(t).logConfiguration.options["awslogs-group"]);
    expect(new Set(used).size).toBe(tasks.length);
    expect(used.sort()).toEqual(groups.map((g) => g.inputs.name).sort());
  });

  it("GIVEN every container WHEN declared THEN ENVIRONMENT, APP_VERSION and secrets from Secrets Manager and SSM are set", () => {
    const dbSecret = (stateOf(only(run, T.db), "masterUserSecrets") as { secretArn: string }[])[0]!.secretArn;
    for (const task of ofType(run, T.taskDefinition)) {
      const container = containerOf(task);
      const environment = Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
      expect(environment).toMatchObject({ ENVIRONMENT: env, APP_VERSION: config.stack.images.initialTag });
      const secrets = Object.fromEntries(container.secrets.map((s) => [s.name, s.valueFrom]));
      expect(secrets).toEqual({
        DATABASE_USER: `${dbSecret}:username::`,
        DATABASE_PASSWORD: `${dbSecret}:password::`,
        SESSION_SECRET: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/${env}/session-secret`,
      });
      expect(task.inputs.executionRoleArn).toBe(roleArn(`gantry-${env}-task-execution`));
      expect(task.inputs.taskRoleArn).toBe(roleArn(`gantry-${env}-task`));
    }
    const migration = only(run, T.taskDefinition, (t) => t.inputs.family === `gantry-${env}-migrate`);
    expect(containerOf(migration)).toMatchObject({ name: "migrate", command: ["npm", "run", "migrate"] });
  });

  it("GIVEN the execution role WHEN its policy is read THEN it reads exactly the containers' secrets and parameters", () => {
    const policy = rolePolicies.get("cluster-execution")!;
    const dbSecret = (stateOf(only(run, T.db), "masterUserSecrets") as { secretArn: string }[])[0]!.secretArn;
    expect(resourcesFor(policy, "secretsmanager:GetSecretValue")).toEqual([dbSecret]);
    expect(resourcesFor(policy, "ssm:GetParameters")).toEqual([
      `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/${env}/session-secret`,
    ]);
  });

  it("GIVEN the images WHEN the env stack runs THEN it creates no ECR repository and exports the shared one", () => {
    expect(ofType(run, T.ecrRepository)).toEqual([]);
    expect(run.calls).toContain("aws:ecr/getRepository:getRepository");
    expect(run.outputs.ecrRepositoryUrl).toBe(`${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app`);
  });

  it("GIVEN the alarms WHEN declared THEN target 5xx, unhealthy hosts, CPU/memory > 80% per service, DB CPU and free storage exist and are exported", () => {
    const alarms = ofType(run, T.alarm);
    expect(alarms.map((a) => a.inputs.name).sort()).toEqual([...run.outputs.alarmNames].sort());
    const byMetric = (metric: string, namespace: string): Registered[] =>
      alarms.filter((a) => a.inputs.metricName === metric && a.inputs.namespace === namespace);
    expect(byMetric("HTTPCode_Target_5XX_Count", "AWS/ApplicationELB")).toHaveLength(services.length);
    expect(byMetric("UnHealthyHostCount", "AWS/ApplicationELB")).toHaveLength(services.length);
    for (const metric of ["CPUUtilization", "MemoryUtilization"]) {
      const perService = byMetric(metric, "AWS/ECS");
      expect(perService).toHaveLength(services.length);
      for (const a of perService)
        expect(a.inputs).toMatchObject({ threshold: 80, comparisonOperator: "GreaterThanThreshold" });
    }
    expect(byMetric("CPUUtilization", "AWS/RDS")).toHaveLength(1);
    const storage = byMetric("FreeStorageSpace", "AWS/RDS");
    expect(storage.map((a) => a.inputs.dimensions)).toEqual([{ DBInstanceIdentifier: `gantry-${env}-db` }]);
    expect(storage[0]!.inputs.comparisonOperator).toBe("LessThanThreshold");
  });

  it("GIVEN the deploy role WHEN its trust policy is read THEN only the repository's GitHub environment may assume it", () => {
    const role = only(run, T.role, (r) => r.inputs.name === `gantry-${env}-deploy`);
    const [trust] = statements(role.inputs.assumeRolePolicy);
    expect(trust!.actions).toEqual(["sts:AssumeRoleWithWebIdentity"]);
    expect(trust!.condition).toEqual({
      StringEquals: {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": `repo:example-org/app:environment:${config.stack.github?.environment ?? env}`,
      },
    });
    expect(run.outputs.deployRoleArn).toBe(stateOf(role, "arn"));
    // Credentials outlive the whole deploy (gantry:deployTimeoutSeconds).
    expect(role.inputs.maxSessionDuration).toBeGreaterThanOrEqual(config.gantry.deployTimeoutSeconds);
  });

  it("GIVEN the deploy role WHEN iam:PassRole is read THEN it names exactly the task role and the execution role", () => {
    expect(resourcesFor(deployPolicy(), "iam:PassRole").sort()).toEqual(
      [roleArn(`gantry-${env}-task`), roleArn(`gantry-${env}-task-execution`)].sort(),
    );
  });

  it("GIVEN every role policy WHEN mutating ECS/RDS actions are read THEN none is on '*' (but RegisterTaskDefinition, which AWS cannot scope)", () => {
    expect(rolePolicies.size).toBeGreaterThanOrEqual(2);
    const onStar: string[] = [];
    for (const policy of rolePolicies.values()) {
      for (const s of policy) {
        expect(s.actions.some((a) => a === "*" || a.endsWith(":*"))).toBe(false);
        const mutating = s.actions.filter(isMutatingEcsOrRds);
        if (mutating.length > 0 && s.resources.some((r) => r === "*")) onStar.push(...mutating);
      }
    }
    expect(onStar).toEqual(["ecs:RegisterTaskDefinition"]);
  });

  it("GIVEN the deploy role WHEN ECS and RDS actions are read THEN they reach only this environment's services, migration family, database and snapshots", () => {
    const policy = deployPolicy();
    const serviceArns = services.map((s) => String(stateOf(s, "arn")));
    expect(resourcesFor(policy, "ecs:UpdateService")).toEqual(serviceArns);
    expect(resourcesFor(policy, "ecs:DescribeServices")).toEqual(serviceArns);
    expect(resourcesFor(policy, "ecs:RunTask")).toEqual([
      `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/gantry-${env}-migrate:*`,
    ]);
    const dbArn = String(stateOf(only(run, T.db), "arn"));
    const snapshots = `arn:aws:rds:us-east-1:${ACCOUNT}:snapshot:gantry-${env}-*`;
    expect(resourcesFor(policy, "rds:CreateDBSnapshot")).toEqual([dbArn, snapshots]);
    expect(resourcesFor(policy, "rds:DescribeDBSnapshots")).toEqual([dbArn, snapshots]);
    expect(resourcesFor(policy, "rds:DeleteDBSnapshot")).toEqual([snapshots]);
    const bucket = "arn:aws:s3:::example-org-gantry-state";
    expect(resourcesFor(policy, "s3:PutObject")).toEqual([
      `${bucket}/gantry/locks/${env}.json`,
      `${bucket}/gantry/ledger/${env}/*`,
      `${bucket}/gantry/journal/${env}/*`,
    ]);
    // The final snapshot taken on deletion is out of the deploy role's reach.
    expect(awsSettings(config).database.finalSnapshotIdentifier.startsWith(`gantry-${env}-`)).toBe(false);
    // Listing tasks cannot be scoped to a resource; the condition binds it to this cluster.
    const clusterArn = stateOf(only(run, T.cluster), "arn");
    expect(policy.find((st) => st.actions.includes("ecs:ListTasks"))?.condition).toEqual({
      ArnEquals: { "ecs:cluster": clusterArn },
    });
    expect(resourcesFor(policy, "cloudwatch:DescribeAlarms")).toEqual(
      run.outputs.alarmNames.map((n) => `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${n}`),
    );
    expect(resourcesFor(policy, "elasticloadbalancing:DescribeTargetHealth")).toEqual(["*"]);
    for (const arn of [...serviceArns, dbArn]) expect(arn).toContain(`gantry-${env}`);
  });

  it("GIVEN every AWS resource WHEN registered THEN it goes through the env's explicit provider (region and default tags from config)", () => {
    const provider = only(run, T.provider);
    expect(provider.inputs.region).toBe(config.region);
    expect(JSON.parse(String(provider.inputs.defaultTags))).toEqual({
      tags: { "gantry:environment": env, "gantry:managed-by": "pulumi" },
    });
    const custom = run.resources.filter((r) => r.type.startsWith("aws:"));
    expect(custom.length).toBeGreaterThan(40);
    for (const r of custom) expect(r.provider).toContain(provider.urn);
  });
});

describe("environments differ only by config", () => {
  it("GIVEN prod's config under the name dev WHEN run THEN every resource equals prod's but for names", async () => {
    const prod = await loadEnvironmentConfig(projectRoot, "prod");
    const asDev: EnvironmentConfig = { ...prod, env: "dev" };
    const a = await runProgram("prod", environmentProgram(prod) as () => Promise<EnvironmentOutputs>);
    const b = await runProgram("dev", environmentProgram(asDev) as () => Promise<EnvironmentOutputs>);
    const normalize = (run: Run<EnvironmentOutputs>, env: string): string[] =>
      run.resources
        .filter((r) => r.type !== "pulumi:pulumi:Stack")
        .map(
          (r) =>
            JSON.stringify({ type: r.type, name: r.name, inputs: r.inputs, ignore: r.ignoreChanges })
              .replaceAll(`gantry-${env}`, "gantry-ENV") // resource names
              .replaceAll(`locks/${env}.json`, "locks/ENV.json") // the state bucket keys
              .replaceAll(`ledger/${env}/`, "ledger/ENV/")
              .replaceAll(`journal/${env}/`, "journal/ENV/")
              .replaceAll(`\\"${env}\\"`, '\\"ENV\\"') // ENVIRONMENT, inside JSON documents
              .replaceAll(`"${env}"`, '"ENV"'), // the provider's default tag
        )
        .sort();
    expect(normalize(b, "dev")).toEqual(normalize(a, "prod"));
  });
});

describe("config variants (mocks)", () => {
  it("GIVEN an existing certificate, no alarms and only path-routed services WHEN run THEN no ACM resources, a 404 default route and the circuit breaker alone", async () => {
    const dev = await loadEnvironmentConfig(projectRoot, "dev");
    const certificateArn = `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555`;
    const variant: EnvironmentConfig = {
      ...dev,
      stack: {
        ...dev.stack,
        alarms: [],
        domain: { ...dev.stack.domain!, certificateArn },
        services: dev.stack.services.map((s) =>
          s.name === "web" ? { ...s, pathPatterns: ["/health", "/web/*"] } : s,
        ),
      },
    };
    const run = await runProgram("dev", environmentProgram(variant) as () => Promise<EnvironmentOutputs>);
    expect(ofType(run, T.certificate)).toEqual([]);
    expect(ofType(run, T.certificateValidation)).toEqual([]);
    const https = only(run, T.listener, (l) => l.inputs.port === 443);
    expect(https.inputs.certificateArn).toBe(certificateArn);
    expect(https.inputs.defaultActions).toEqual([
      {
        type: "fixed-response",
        fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "not found" },
      },
    ]);
    expect(ofType(run, T.listenerRule)).toHaveLength(2);
    expect(ofType(run, T.alarm)).toEqual([]);
    expect(run.outputs.alarmNames).toEqual([]);
    for (const service of ofType(run, T.service)) {
      expect(service.inputs.alarms).toBeUndefined();
      expect(service.inputs.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
    }
  });
});
