import { describe, expect, it } from "vitest";
import { runningVersion } from "../../../src/steps/running.ts";
import { fakeEnvironment } from "../../fakes/ports.ts";

describe("runningVersion", () => {
  it("GIVEN a service released by digest WHEN read THEN its tag, digest, image and task definition, in two ECS calls", async () => {
    const fake = fakeEnvironment({ runningTag: "v1.0.0" });
    const web = fake.outputs.services.find((s) => s.name === "web");
    if (!web) throw new Error("no web service");

    const running = await runningVersion(fake.ecs, fake.outputs.clusterName, web);

    const image = fake.images.image("v1.0.0");
    expect(running).toMatchObject({
      tag: "v1.0.0",
      digest: image.digest,
      image: image.imageUri,
      taskDefinitionArn: fake.initialTaskDefinitions.web,
      service: { serviceName: web.serviceName, taskDefinition: fake.initialTaskDefinitions.web },
    });
    expect(fake.log.names()).toEqual(["ecs.describeService", "ecs.describeTaskDefinition"]);
  });

  it("GIVEN a service whose image is a tag reference WHEN read THEN the tag, and no digest", async () => {
    const fake = fakeEnvironment();
    const arn = fake.ecs.seedTaskDefinition({
      family: "byTag",
      containerDefinitions: [{ name: "app", image: "registry.example/app:v7" }],
    });
    fake.ecs.seedService({
      serviceName: "by-tag",
      containerName: "app",
      taskDefinition: arn,
      desiredCount: 1,
      targetGroupArns: [],
    });

    const running = await runningVersion(fake.ecs, fake.outputs.clusterName, {
      serviceName: "by-tag",
      containerName: "app",
    });

    expect(running).toMatchObject({
      tag: "v7",
      digest: undefined,
      image: "registry.example/app:v7",
      taskDefinitionArn: arn,
    });
  });

  it("GIVEN a container name the task definition lacks WHEN read THEN no image, no digest, an empty tag", async () => {
    const fake = fakeEnvironment();
    const web = fake.outputs.services.find((s) => s.name === "web");
    if (!web) throw new Error("no web service");

    const running = await runningVersion(fake.ecs, fake.outputs.clusterName, {
      ...web,
      containerName: "nope",
    });

    expect(running).toMatchObject({ tag: "", digest: undefined, image: undefined });
    expect(running?.taskDefinitionArn).toBe(fake.initialTaskDefinitions.web);
  });

  it("GIVEN no such service WHEN read THEN undefined, and the task definition is not asked for", async () => {
    const fake = fakeEnvironment();

    const running = await runningVersion(fake.ecs, fake.outputs.clusterName, {
      serviceName: "missing",
      containerName: "app",
    });

    expect(running).toBeUndefined();
    expect(fake.log.names()).toEqual(["ecs.describeService"]);
  });
});
