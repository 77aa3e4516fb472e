import { describe, expect, it } from "vitest";
import { formatImageName, isLoopbackRegistry, parseImageName } from "../../../src/config/image.ts";

describe("parseImageName", () => {
  it.each([
    ["app", { kind: "ecr", repository: "app" }],
    ["team/api", { kind: "ecr", repository: "team/api" }],
    ["ghcr.io/acme/api", { kind: "oci", registry: "ghcr.io", repository: "acme/api" }],
    ["127.0.0.1:5000/acme/api", { kind: "oci", registry: "127.0.0.1:5000", repository: "acme/api" }],
    ["localhost/api", { kind: "oci", registry: "localhost", repository: "api" }],
    [
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api",
      { kind: "ecr", repository: "api", registryId: "123456789012", region: "eu-west-1" },
    ],
  ])("GIVEN %s WHEN parsed THEN %j, and it formats back to itself", (value, parsed) => {
    const image = parseImageName(value);
    expect(image).toEqual(parsed);
    expect(image && formatImageName(image)).toBe(value);
  });

  it.each(["", "Api", "ghcr.io/acme/api:v1", "api@sha256:00", "ghcr.io/", "a//b", "-api", "ghcr.io/acme/-x"])(
    "GIVEN %j WHEN parsed THEN not an image name",
    (value) => {
      expect(parseImageName(value)).toBeUndefined();
    },
  );

  it("GIVEN registries WHEN asked whether they are loopback THEN only 127.x and localhost are", () => {
    expect([
      isLoopbackRegistry("127.0.0.1:5000"),
      isLoopbackRegistry("localhost:1"),
      isLoopbackRegistry("ghcr.io"),
    ]).toEqual([true, true, false]);
  });
});
