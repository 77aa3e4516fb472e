/** The sticky PR comment against the OpenAPI-validating fake GitHub API. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createGitHubClient, type GitHubClient } from "../../../src/github/client.ts";
import {
  COMMENT_MAX_CHARS,
  STICKY_MARKER_MAX_CHARS,
  stickyMarker,
  upsertStickyComment,
} from "../../../src/github/comments.ts";
import { CommentTooLargeError, GitHubError } from "../../../src/github/errors.ts";
import {
  ACTIONS_BOT,
  DEFAULT_TOKEN,
  startGitHubApiServer,
  type GitHubApiServer,
} from "../../helpers/github-api-server.ts";

let server: GitHubApiServer;
let client: GitHubClient;
let pr = 100;
const target = () => ({ owner: "acme", repo: "shop", issueNumber: pr });
const commentsOnPr = () => server.comments("acme", "shop", pr);

beforeAll(async () => {
  server = await startGitHubApiServer();
  client = createGitHubClient({ token: DEFAULT_TOKEN, baseUrl: server.url, retries: 0 });
});
afterEach(() => {
  expect(server.violations).toEqual([]);
  pr++;
});
afterAll(async () => {
  await server.close();
});

describe("upsertStickyComment", () => {
  it("GIVEN no comment yet WHEN run twice THEN the first run creates it and the second updates it in place", async () => {
    const first = await upsertStickyComment(client, target(), "dev", "plan: 3 to change");
    const second = await upsertStickyComment(client, target(), "dev", "plan: 1 to change");

    expect(first.action).toBe("created");
    expect(second).toEqual({ id: first.id, action: "updated", url: first.url });
    const comments = commentsOnPr();
    expect(comments).toHaveLength(1);
    expect(comments[0]?.body).toBe(`${stickyMarker("dev")}\nplan: 1 to change`);
    expect(comments[0]?.user).toEqual(ACTIONS_BOT);
    expect(first.url).toContain(`#issuecomment-${String(first.id)}`);
  });

  it("GIVEN dev and prod previews WHEN both are posted and re-posted THEN each keeps its own comment", async () => {
    const dev = await upsertStickyComment(client, target(), "dev", "dev v1");
    const prod = await upsertStickyComment(client, target(), "prod", "prod v1");
    await upsertStickyComment(client, target(), "dev", "dev v2");
    await upsertStickyComment(client, target(), "prod", "prod v2");

    expect(dev.id).not.toBe(prod.id);
    expect(commentsOnPr().map((c) => [c.id, c.body])).toEqual([
      [dev.id, `${stickyMarker("dev")}\ndev v2`],
      [prod.id, `${stickyMarker("prod")}\nprod v2`],
    ]);
  });

  it("GIVEN someone else's comments with our text and even our marker WHEN we post THEN theirs are never touched", async () => {
    const quoting = server.seedComment(
      target(),
      `> ${stickyMarker("dev")}\n> plan: 3 to change\nlooks risky`,
    );
    const copied = server.seedComment(target(), `${stickyMarker("dev")}\nplan: 3 to change`);
    const otherBot = server.seedComment(target(), `${stickyMarker("dev")}\nother tool`, {
      login: "renovate[bot]",
      type: "Bot",
    });
    const before = commentsOnPr().map((c) => ({ ...c }));

    const mine = await upsertStickyComment(client, target(), "dev", "plan: 4 to change");
    await upsertStickyComment(client, target(), "dev", "plan: 5 to change");

    expect(mine.action).toBe("created");
    const after = commentsOnPr();
    for (const theirs of [quoting, copied, otherBot]) {
      expect(after.find((c) => c.id === theirs.id)).toEqual(before.find((c) => c.id === theirs.id));
    }
    expect(after.filter((c) => c.user.login === ACTIONS_BOT.login).map((c) => c.body)).toEqual([
      `${stickyMarker("dev")}\nplan: 5 to change`,
    ]);
  });

  it("GIVEN our comment on page 2 of the PR's comments WHEN we post THEN it is found and updated", async () => {
    for (let i = 0; i < 100; i++) server.seedComment(target(), `comment ${String(i)}`);
    const ours = server.seedComment(target(), `${stickyMarker("dev")}\nold`, ACTIONS_BOT);
    for (let i = 0; i < 5; i++) server.seedComment(target(), `later ${String(i)}`);

    const result = await upsertStickyComment(client, target(), "dev", "new");

    expect(result).toMatchObject({ id: ours.id, action: "updated" });
    expect(commentsOnPr()).toHaveLength(106);
    const pages = server.requests.filter(
      (r) => r.operationId === "issues/list-comments" && r.path.endsWith(`/issues/${String(pr)}/comments`),
    );
    expect(pages.map((r) => r.query.page ?? "1")).toEqual(["1", "2"]);
  });

  it("GIVEN two of our comments for one environment (a past race) WHEN we post THEN the oldest is kept and the other removed", async () => {
    const older = server.seedComment(target(), `${stickyMarker("dev")}\nrun A`, ACTIONS_BOT);
    server.seedComment(target(), `${stickyMarker("dev")}\nrun B`, ACTIONS_BOT);
    const human = server.seedComment(target(), "lgtm");

    const result = await upsertStickyComment(client, target(), "dev", "run C");

    expect(result).toMatchObject({ id: older.id, action: "updated" });
    expect(commentsOnPr().map((c) => c.id)).toEqual([older.id, human.id]);
  });

  it("GIVEN a duplicate of ours already deleted by another run WHEN we post THEN ours is still updated (a 404 on cleanup is fine)", async () => {
    const older = server.seedComment(target(), `${stickyMarker("dev")}\nrun A`, ACTIONS_BOT);
    const newer = server.seedComment(target(), `${stickyMarker("dev")}\nrun B`, ACTIONS_BOT);
    server.failNext({
      status: 404,
      body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" },
      operationId: "issues/delete-comment",
    });

    const result = await upsertStickyComment(client, target(), "dev", "run C");

    expect(result).toMatchObject({ id: older.id, action: "updated" });
    expect(commentsOnPr().find((c) => c.id === older.id)?.body).toBe(`${stickyMarker("dev")}\nrun C`);
    // Our update happened before the cleanup was attempted.
    const ops = server.requests.map((r) => r.operationId);
    expect(ops.indexOf("issues/update-comment")).toBeLessThan(ops.indexOf("issues/delete-comment"));
    expect(newer.id).not.toBe(older.id);
  });

  it("GIVEN a bot comment that quotes our marker in its middle WHEN we post THEN it is not ours: untouched, ours is created", async () => {
    const quoting = server.seedComment(
      target(),
      `Another tool's report\n> ${stickyMarker("dev")}\n> plan: 1 to change`,
      ACTIONS_BOT,
    );

    const result = await upsertStickyComment(client, target(), "dev", "plan: 2 to change");

    expect(result.action).toBe("created");
    expect(commentsOnPr().find((c) => c.id === quoting.id)?.body).toContain("Another tool's report");
    expect(commentsOnPr()).toHaveLength(2);
  });

  it("GIVEN a personal-access-token identity WHEN the author is configured THEN that login's comment is updated", async () => {
    const patServer = await startGitHubApiServer({
      tokens: { "pat-token": { login: "deploy-bot", type: "User" } },
    });
    try {
      const pat = createGitHubClient({ token: "pat-token", baseUrl: patServer.url, retries: 0 });
      const where = { owner: "acme", repo: "shop", issueNumber: 1 };
      const first = await upsertStickyComment(pat, where, "dev", "a", { author: "deploy-bot" });
      const second = await upsertStickyComment(pat, where, "dev", "b", { author: "deploy-bot" });
      // Without the setting, the PAT's comment is not recognised as ours: a new one is made.
      const third = await upsertStickyComment(pat, where, "dev", "c");
      expect([first.action, second.action, third.action]).toEqual(["created", "updated", "created"]);
      expect(second.id).toBe(first.id);
      expect(patServer.violations).toEqual([]);
    } finally {
      await patServer.close();
    }
  });

  it("GIVEN a body one character over GitHub's limit WHEN posted THEN it is refused with a typed error before any request", async () => {
    const requestsBefore = server.requests.length;
    const body = "x".repeat(COMMENT_MAX_CHARS - `${stickyMarker("dev")}\n`.length + 1);
    await expect(upsertStickyComment(client, target(), "dev", body)).rejects.toBeInstanceOf(
      CommentTooLargeError,
    );
    expect(server.requests.length).toBe(requestsBefore);
  });

  it("GIVEN a body exactly at the limit with the marker WHEN posted THEN it is accepted", async () => {
    const body = "x".repeat(COMMENT_MAX_CHARS - `${stickyMarker("dev")}\n`.length);
    await upsertStickyComment(client, target(), "dev", body);
    expect(commentsOnPr()[0]?.body.length).toBe(COMMENT_MAX_CHARS);
  });

  it("GIVEN the longest environment name WHEN a body fills the renderer's budget THEN it is accepted", async () => {
    const env = "e".repeat(40);
    const body = "y".repeat(COMMENT_MAX_CHARS - STICKY_MARKER_MAX_CHARS);
    const result = await upsertStickyComment(client, target(), env, body);
    expect(result.action).toBe("created");
    expect(commentsOnPr()[0]?.body.length).toBe(COMMENT_MAX_CHARS);
    expect(() => stickyMarker("e".repeat(41))).toThrow(GitHubError);
  });

  it("GIVEN an environment name that could break out of the marker WHEN posted THEN it is refused", async () => {
    await expect(upsertStickyComment(client, target(), "dev --> <b>x</b>", "x")).rejects.toMatchObject({
      code: "GITHUB_BAD_ENVIRONMENT",
    });
    expect(() => stickyMarker("dev")).not.toThrow();
  });

  it("GIVEN the token lacks pull-requests: write WHEN posting THEN a GitHubError says which permission", async () => {
    server.failNext({
      status: 403,
      body: {
        message: "Resource not accessible by integration",
        documentation_url: "https://docs.github.com/rest",
      },
      operationId: "issues/create-comment",
    });
    const err: unknown = await upsertStickyComment(client, target(), "dev", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitHubError);
    expect(err).toMatchObject({ code: "GITHUB_FORBIDDEN", status: 403, source: "user" });
    expect((err as GitHubError).hint).toContain("permissions: pull-requests: write");
  });
});
