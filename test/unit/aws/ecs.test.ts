import { describe, expect, it } from "vitest";
import { nextRevision } from "../../../src/aws/taskDefinition.ts";
import { AwsError } from "../../../src/errors.ts";

const current = {
  taskDefinitionArn: "arn:aws:ecs:us-east-1:1:task-definition/app-api:7",
  family: "app-api",
  revision: 7,
  status: "ACTIVE",
  registeredAt: "2026-11-01T00:00:00Z",
  requiresAttributes: [{ name: "x" }],
  compatibilities: ["FARGATE"],
  networkMode: "awsvpc",
  cpu: "256",
  memory: "512",
  executionRoleArn: "arn:aws:iam::1:role/exec",
  taskRoleArn: "arn:aws:iam::1:role/task",
  requiresCompatibilities: ["FARGATE"],
  containerDefinitions: [
    {
      name: "api",
      image: "1.dkr.ecr.us-east-1.amazonaws.com/app:v1",
      environment: [{ name: "A", value: "1" }],
    },
    { name: "sidecar", image: "public.ecr.aws/otel:1" },
  ],
};

describe("nextRevision", () => {
  it("GIVEN the current definition WHEN the api image is set THEN only that image changes and read-only fields are dropped", () => {
    const next = nextRevision(current, "api", "1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:ab");
    expect(next).toEqual({
      family: "app-api",
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      executionRoleArn: "arn:aws:iam::1:role/exec",
      taskRoleArn: "arn:aws:iam::1:role/task",
      requiresCompatibilities: ["FARGATE"],
      containerDefinitions: [
        {
          name: "api",
          image: "1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:ab",
          environment: [{ name: "A", value: "1" }],
        },
        { name: "sidecar", image: "public.ecr.aws/otel:1" },
      ],
    });
  });

  it("GIVEN a container name the definition lacks WHEN revised THEN a user-facing AwsError", () => {
    expect(() => nextRevision(current, "web", "x")).toThrow(AwsError);
    expect(() => nextRevision(current, "web", "x")).toThrow(/has no container "web"/);
  });
});
