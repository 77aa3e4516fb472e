/**
 * The batch reads of the ECS adapter against the sandbox (real SDK, real HTTP): several services
 * of one cluster in one DescribeServices, and the task IPs of several deployments from one listing
 * of the cluster — what each look of the gates relies on (src/steps/watch.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workerSandbox } from "../helpers/sandbox.ts";
import { createAwsClients, type AwsClients } from "../../src/aws/clients.ts";
import { EcsAdapter } from "../../src/aws/ecs.ts";
import { poll } from "../../src/checks/poll.ts";
import { SandboxControl } from "../../src/sandbox/control.ts";
import { provision, provisionService, type ServiceFixture, uid } from "./sandbox/helpers.ts";

const endpoint = workerSandbox().endpoint;

describe("ECS adapter batch reads on the sandbox", () => {
  let aws: AwsClients;
  let ecs: EcsAdapter;
  let fx: ServiceFixture;
  let second: string;

  beforeAll(async () => {
    aws = createAwsClients({ region: "us-east-1", endpoint });
    ecs = new EcsAdapter(aws.ecs);
    await new SandboxControl(endpoint).setSpeeds({ rolloutSeconds: 2, taskSeconds: 1 });
    fx = await provisionService(endpoint, "batch", { tags: [uid("v1")], desiredCount: 2 });
    // A second service of one task in the same cluster, running the same task definition.
    second = uid("batch-b");
    await provision(endpoint, "service", second, {
      cluster: fx.cluster,
      serviceName: second,
      taskDefinitionArn: fx.initialTaskDefinitionArn,
      desiredCount: 1,
      containerName: "app",
      containerPort: 8080,
      subnets: fx.network.subnetIds,
      securityGroups: fx.network.securityGroupIds,
      circuitBreakerRollback: true,
    });
  });
  afterAll(() => {
    aws.destroy();
  });

  it("GIVEN two services of a cluster WHEN described together with a missing one THEN each in the order asked, the missing one undefined, deployments with their updatedAt", async () => {
    const states = await ecs.describeServices(fx.cluster, [second, "no-such-service", fx.serviceName]);

    expect(states.map((s) => s?.serviceName)).toEqual([second, undefined, fx.serviceName]);
    expect(states.map((s) => s?.desiredCount)).toEqual([1, undefined, 2]);
    for (const s of [states[0], states[2]]) {
      expect(s?.deployments[0]?.updatedAt).toBeInstanceOf(Date);
    }
    expect(await ecs.describeService(fx.cluster, fx.serviceName)).toEqual(states[2]);
  });

  it("GIVEN both services' tasks running WHEN the IPs of both deployments are asked for at once THEN each deployment's own task IPs, and none for an unknown deployment", async () => {
    const states = await ecs.describeServices(fx.cluster, [fx.serviceName, second]);
    const [a, b] = states.map((s) => s?.deployments[0]?.id ?? "");
    const out = await poll<Map<string, string[]>>(
      async () => {
        const ips = await ecs.deploymentTaskIps(fx.cluster, [a ?? "", b ?? "", "ecs-svc/unknown"]);
        return ips.get(a ?? "")?.length === 2 && ips.get(b ?? "")?.length === 1
          ? { done: true, value: ips }
          : { done: false };
      },
      { deadline: Date.now() + 20_000, intervalMs: 200 },
    );

    expect(out.status).toBe("done");
    const ips = out.status === "done" ? out.value : new Map<string, string[]>();
    expect(ips.get("ecs-svc/unknown")).toEqual([]);
    const all = [...(ips.get(a ?? "") ?? []), ...(ips.get(b ?? "") ?? [])];
    expect(new Set(all).size).toBe(3);
    for (const ip of all) expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });
});
