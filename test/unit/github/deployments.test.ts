/** GitHub deployments and their statuses against the OpenAPI-validating fake GitHub API. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createGitHubClient, type GitHubClient } from "../../../src/github/client.ts";
import {
  createDeployment,
  DESCRIPTION_MAX_CHARS,
  environmentKind,
  setDeploymentStatus,
} from "../../../src/github/deployments.ts";
import {
  DEFAULT_TOKEN,
  startGitHubApiServer,
  type GitHubApiServer,
} from "../../helpers/github-api-server.ts";

let server: GitHubApiServer;
let client: GitHubClient;
const repo = { owner: "acme", repo: "shop" };
const SHA = "0123456789abcdef0123456789abcdef01234567";

beforeAll(async () => {
  server = await startGitHubApiServer();
  client = createGitHubClient({ token: DEFAULT_TOKEN, baseUrl: server.url, retries: 0 });
});
afterEach(() => {
  expect(server.violations).toEqual([]);
});
afterAll(async () => {
  await server.close();
});

describe("GitHub deployments", () => {
  it("GIVEN a prod deploy WHEN created and followed to success THEN GitHub gets the deployment and each status in order", async () => {
    const before = server.requests.length;
    const created = await createDeployment(client, repo, {
      ref: SHA,
      environment: "prod",
      description: "gantry deploy of v1.2.3",
      payload: { gantryDeploymentId: "20261122T101500Z-3f9a1c", tag: "v1.2.3" },
    });
    await setDeploymentStatus(client, repo, created.id, {
      state: "in_progress",
      logUrl: "https://github.com/acme/shop/actions/runs/42",
    });
    await setDeploymentStatus(client, repo, created.id, {
      state: "success",
      description: "v1.2.3 verified healthy",
      environmentUrl: "https://prod.example.com",
      logUrl: "https://github.com/acme/shop/actions/runs/42",
    });

    expect(server.requests.slice(before).map((r) => [r.operationId, r.status])).toEqual([
      ["repos/create-deployment", 201],
      ["repos/create-deployment-status", 201],
      ["repos/create-deployment-status", 201],
    ]);
    const [deployment] = server.deployments("acme", "shop").filter((d) => d.id === created.id);
    expect(deployment?.request).toEqual({
      ref: SHA,
      environment: "prod",
      task: "deploy",
      auto_merge: false,
      required_contexts: [],
      production_environment: true,
      transient_environment: false,
      description: "gantry deploy of v1.2.3",
      payload: { gantryDeploymentId: "20261122T101500Z-3f9a1c", tag: "v1.2.3" },
    });
    expect(deployment?.statuses).toEqual([
      { state: "in_progress", log_url: "https://github.com/acme/shop/actions/runs/42" },
      {
        state: "success",
        description: "v1.2.3 verified healthy",
        environment_url: "https://prod.example.com",
        log_url: "https://github.com/acme/shop/actions/runs/42",
      },
    ]);
  });

  it.each([
    ["failure", "v1.2.3 failed; rolled back to v1.1.0 and verified"],
    ["error", "deploy interrupted"],
  ] as const)(
    "GIVEN a deploy that ends %s WHEN the status is set THEN GitHub accepts it",
    async (state, text) => {
      const created = await createDeployment(client, repo, { ref: SHA, environment: "dev" });
      await setDeploymentStatus(client, repo, created.id, { state, description: text });
      const deployment = server.deployments("acme", "shop").find((d) => d.id === created.id);
      expect(deployment?.statuses).toEqual([{ state, description: text }]);
    },
  );

  it("GIVEN a description longer than GitHub keeps WHEN a status is set THEN it is shortened to 140 characters", async () => {
    const created = await createDeployment(client, repo, { ref: SHA, environment: "dev" });
    await setDeploymentStatus(client, repo, created.id, { state: "failure", description: "e".repeat(500) });
    const status = server.deployments("acme", "shop").find((d) => d.id === created.id)?.statuses[0];
    expect(String(status?.description)).toHaveLength(DESCRIPTION_MAX_CHARS);
    expect(String(status?.description).endsWith("…")).toBe(true);
  });

  it("GIVEN a deployment GitHub does not know WHEN a status is set THEN a typed 404 comes back", async () => {
    await expect(setDeploymentStatus(client, repo, 999_999, { state: "success" })).rejects.toMatchObject({
      code: "GITHUB_NOT_FOUND",
      status: 404,
    });
  });

  describe.each([
    ["prod", true, false],
    ["production", true, false],
    ["staging", false, false],
    ["dev", false, false],
    ["sandbox", false, true],
  ])("environmentKind(%s)", (env, production, transient) => {
    it(`GIVEN ${env} THEN production=${String(production)} transient=${String(transient)}`, () => {
      expect(environmentKind(env)).toEqual({ production, transient });
    });
  });

  it("GIVEN an environment on the sandbox account (gantry:account) THEN transient, whatever its name; and the sandbox env on aws is not", () => {
    expect(environmentKind("qa", "sandbox")).toEqual({ production: false, transient: true });
    expect(environmentKind("sandbox", "aws")).toEqual({ production: false, transient: false });
  });
});
