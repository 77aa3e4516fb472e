/**
 * A fake GitHub REST API on 127.0.0.1 that checks every request — method, path, path and query
 * parameters, JSON body — and every answer it gives against GitHub's official OpenAPI description
 * (`@octokit/openapi`, api.github.com), with `openapi-backend` (Ajv) as the validator. A request
 * that does not match is answered 404/422 with the validation errors AND recorded in
 * {@link GitHubApiServer.violations}, so a test asserting that list is empty cannot pass by
 * accident. Two deliberate tightenings over GitHub's leniency, because for gantry they are bugs:
 * unknown query parameters and unknown top-level body properties are violations (GitHub ignores
 * them, which hides typos such as `auto_merged`).
 *
 * Behind the validator it keeps an in-memory model of issue comments (list with pagination and
 * Link headers, create, update, delete), deployments and deployment statuses, environments with
 * their protection rules, and workflow runs' review history (both seeded by tests). Comments are
 * authored by the identity the request's token belongs to; tests seed comments by other users.
 */
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import ajvFormats from "ajv-formats";
import { OpenAPIBackend, type Document } from "openapi-backend";

/** A request or answer that does not match GitHub's OpenAPI description (or is not modelled). */
export interface Violation {
  readonly kind: "route" | "method" | "request" | "response" | "unmodelled";
  readonly method: string;
  readonly path: string;
  readonly message: string;
}

/** One request the server received (no headers: the token stays out of test output). */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly operationId: string | undefined;
  readonly body: unknown;
  readonly status: number;
}

/** Who a token belongs to. */
export interface Identity {
  readonly login: string;
  readonly type: "Bot" | "User";
}

/** A comment in the model. */
export interface FakeComment {
  readonly id: number;
  readonly owner: string;
  readonly repo: string;
  readonly issueNumber: number;
  body: string;
  readonly user: Identity;
  readonly createdAt: string;
  updatedAt: string;
}

/** A deployment in the model, with its statuses in order. */
export interface FakeDeployment {
  readonly id: number;
  readonly owner: string;
  readonly repo: string;
  readonly request: Readonly<Record<string, unknown>>;
  readonly statuses: Readonly<Record<string, unknown>>[];
}

/** An environment of a repository, as a test seeds it. */
export interface FakeEnvironment {
  readonly name: string;
  /** Users who must approve (required reviewers); empty: no such rule. */
  readonly reviewers: readonly Identity[];
  /** Minutes of the wait timer (0: no such rule). */
  readonly waitTimer?: number;
}

/** One review of a workflow run's deployment to environments, as a test seeds it. */
export interface FakeRunReview {
  readonly runId: number;
  readonly environments: readonly string[];
  readonly state: "approved" | "rejected";
  readonly user: Identity;
}

/** A canned failure for the next matching requests. */
export interface InjectedFailure {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Only requests of this operation (default: any). */
  readonly operationId?: string;
  /** How many requests fail (default 1). */
  readonly times?: number;
}

/** The running server. */
export interface GitHubApiServer {
  /** Base URL for Octokit, e.g. http://127.0.0.1:54321 */
  readonly url: string;
  readonly violations: readonly Violation[];
  readonly requests: readonly RecordedRequest[];
  /** How long loading and preparing the OpenAPI description took in this test file (ms). */
  readonly specLoadMs: number;
  /** Add a comment written by someone (default: a human, `octocat`). */
  seedComment(
    target: { owner: string; repo: string; issueNumber: number },
    body: string,
    user?: Identity,
  ): FakeComment;
  /** Comments of an issue/PR, oldest first. */
  comments(owner: string, repo: string, issueNumber: number): FakeComment[];
  deployments(owner: string, repo: string): FakeDeployment[];
  /** Add an environment (with its protection rules) to a repository. */
  seedEnvironment(owner: string, repo: string, environment: FakeEnvironment): void;
  /** Add a review to a workflow run's history. */
  seedRunReview(owner: string, repo: string, review: FakeRunReview): void;
  /** Fail the next matching request(s) with a canned answer. */
  failNext(failure: InjectedFailure): void;
  close(): Promise<void>;
}

/** Options of {@link startGitHubApiServer}. */
export interface GitHubApiServerOptions {
  /** token → identity. Default: `test-token` is `github-actions[bot]` (the Actions GITHUB_TOKEN). */
  readonly tokens?: Readonly<Record<string, Identity>>;
}

export const ACTIONS_BOT: Identity = { login: "github-actions[bot]", type: "Bot" };
export const DEFAULT_TOKEN = "test-token";
const DOCS = "https://docs.github.com/rest";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

interface Compiled {
  readonly api: OpenAPIBackend;
  readonly loadMs: number;
}

let compiled: Promise<Compiled> | undefined;

/** Top-level request body objects reject unknown properties (GitHub ignores them; for us they are typos). */
function tighten(doc: Document): void {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = (item as Record<string, unknown> | undefined)?.[method] as
        { requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> } } | undefined;
      const schema = op?.requestBody?.content?.["application/json"]?.schema;
      if (
        schema &&
        schema.type === "object" &&
        schema.properties &&
        schema.additionalProperties === undefined
      ) {
        schema.additionalProperties = false;
      }
    }
  }
}

/** Load the api.github.com description and build the validator, once per test file (cached). */
function loadValidator(): Promise<Compiled> {
  compiled ??= (async () => {
    const started = performance.now();
    const pkg = createRequire(import.meta.url).resolve("@octokit/openapi/package.json");
    const file = path.join(path.dirname(pkg), "generated", "api.github.com.json");
    const doc = JSON.parse(await readFile(file, "utf8")) as Document;
    tighten(doc);
    const api = new OpenAPIBackend({
      definition: doc,
      // quick: dereference synchronously and compile each operation's validators on first use.
      quick: true,
      validate: true,
      ajvOpts: { strict: false, allErrors: true, logger: false },
      customizeAjv: (ajv) => {
        // ajv-formats is CommonJS: its plugin is the `default` export of module.exports.
        ajvFormats.default(ajv);
        return ajv;
      },
    });
    await api.init();
    return { api, loadMs: performance.now() - started };
  })();
  return compiled;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", reject);
  });
}

function simpleUser(base: string, who: Identity, id: number) {
  const url = `${base}/users/${encodeURIComponent(who.login)}`;
  return {
    login: who.login,
    id,
    node_id: `U_${String(id)}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${String(id)}?v=4`,
    gravatar_id: "",
    url,
    html_url: `https://github.com/${encodeURIComponent(who.login)}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: who.type,
    site_admin: false,
  };
}

/** Start the server on a random 127.0.0.1 port. */
export async function startGitHubApiServer(options: GitHubApiServerOptions = {}): Promise<GitHubApiServer> {
  const { api, loadMs } = await loadValidator();
  const tokens = options.tokens ?? { [DEFAULT_TOKEN]: ACTIONS_BOT };
  const violations: Violation[] = [];
  const requests: RecordedRequest[] = [];
  const comments = new Map<number, FakeComment>();
  const deployments = new Map<number, FakeDeployment>();
  /** `owner/repo/name` → environment, with the id it answers with. */
  const environments = new Map<string, FakeEnvironment & { id: number }>();
  const reviews: (FakeRunReview & { owner: string; repo: string })[] = [];
  const userIds = new Map<string, number>();
  const failures: { failure: InjectedFailure; left: number }[] = [];
  let nextId = 1000;
  let base = "";

  const userId = (login: string): number => {
    let id = userIds.get(login);
    if (id === undefined) {
      id = 5000 + userIds.size;
      userIds.set(login, id);
    }
    return id;
  };
  const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const commentJson = (c: FakeComment) => ({
    id: c.id,
    node_id: `IC_${String(c.id)}`,
    url: `${base}/repos/${c.owner}/${c.repo}/issues/comments/${String(c.id)}`,
    html_url: `https://github.com/${c.owner}/${c.repo}/pull/${String(c.issueNumber)}#issuecomment-${String(c.id)}`,
    body: c.body,
    user: simpleUser(base, c.user, userId(c.user.login)),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    issue_url: `${base}/repos/${c.owner}/${c.repo}/issues/${String(c.issueNumber)}`,
    author_association: c.user.type === "Bot" ? "NONE" : "MEMBER",
    performed_via_github_app: null,
  });
  const deploymentJson = (d: FakeDeployment, creator: Identity) => {
    const url = `${base}/repos/${d.owner}/${d.repo}/deployments/${String(d.id)}`;
    const r = d.request;
    const environment = typeof r.environment === "string" ? r.environment : "production";
    return {
      url,
      id: d.id,
      node_id: `DE_${String(d.id)}`,
      sha: String(r.ref),
      ref: String(r.ref),
      task: typeof r.task === "string" ? r.task : "deploy",
      payload: r.payload ?? {},
      original_environment: environment,
      environment,
      description: typeof r.description === "string" ? r.description : null,
      creator: simpleUser(base, creator, userId(creator.login)),
      created_at: now(),
      updated_at: now(),
      statuses_url: `${url}/statuses`,
      repository_url: `${base}/repos/${d.owner}/${d.repo}`,
      transient_environment: r.transient_environment === true,
      production_environment: r.production_environment === true,
    };
  };

  const environmentJson = (owner: string, repo: string, e: FakeEnvironment & { id: number }) => {
    const rules: Record<string, unknown>[] = [];
    if (e.reviewers.length) {
      rules.push({
        id: e.id + 1,
        node_id: `GA_${String(e.id + 1)}`,
        type: "required_reviewers",
        prevent_self_review: false,
        reviewers: e.reviewers.map((r) => ({ type: "User", reviewer: simpleUser(base, r, userId(r.login)) })),
      });
    }
    if (e.waitTimer) {
      rules.push({
        id: e.id + 2,
        node_id: `GA_${String(e.id + 2)}`,
        type: "wait_timer",
        wait_timer: e.waitTimer,
      });
    }
    return {
      id: e.id,
      node_id: `EN_${String(e.id)}`,
      name: e.name,
      url: `${base}/repos/${owner}/${repo}/environments/${encodeURIComponent(e.name)}`,
      html_url: `https://github.com/${owner}/${repo}/deployments/activity_log?environments_filter=${encodeURIComponent(e.name)}`,
      created_at: now(),
      updated_at: now(),
      protection_rules: rules,
      deployment_branch_policy: null,
    };
  };

  type Handled = { status: number; body?: unknown; headers?: Record<string, string> };
  const notFound: Handled = { status: 404, body: { message: "Not Found", documentation_url: DOCS } };

  function handle(
    operationId: string,
    params: Record<string, string>,
    query: Record<string, string>,
    body: Record<string, unknown>,
    who: Identity,
  ): Handled | undefined {
    const owner = params.owner ?? "";
    const repo = params.repo ?? "";
    switch (operationId) {
      case "issues/list-comments": {
        const all = [...comments.values()].filter(
          (c) => c.owner === owner && c.repo === repo && c.issueNumber === Number(params.issue_number),
        );
        const perPage = Math.min(100, Number(query.per_page ?? 30));
        const page = Number(query.page ?? 1);
        const last = Math.max(1, Math.ceil(all.length / perPage));
        const link = (p: number, rel: string): string => {
          const u = new URL(`${base}/repos/${owner}/${repo}/issues/${params.issue_number ?? ""}/comments`);
          u.searchParams.set("per_page", String(perPage));
          u.searchParams.set("page", String(p));
          return `<${u.toString()}>; rel="${rel}"`;
        };
        const links = [
          ...(page < last ? [link(page + 1, "next"), link(last, "last")] : []),
          ...(page > 1 ? [link(1, "first"), link(page - 1, "prev")] : []),
        ];
        return {
          status: 200,
          body: all.slice((page - 1) * perPage, page * perPage).map(commentJson),
          headers: links.length ? { link: links.join(", ") } : {},
        };
      }
      case "issues/create-comment": {
        const c: FakeComment = {
          id: nextId++,
          owner,
          repo,
          issueNumber: Number(params.issue_number),
          body: String(body.body),
          user: who,
          createdAt: now(),
          updatedAt: now(),
        };
        comments.set(c.id, c);
        return { status: 201, body: commentJson(c) };
      }
      case "issues/update-comment": {
        // Like GitHub, a token with write access may edit anyone's comment: protecting others'
        // comments is the client's job, which is what the tests check.
        const c = comments.get(Number(params.comment_id));
        if (!c || c.owner !== owner || c.repo !== repo) return notFound;
        c.body = String(body.body);
        c.updatedAt = now();
        return { status: 200, body: commentJson(c) };
      }
      case "issues/delete-comment": {
        const c = comments.get(Number(params.comment_id));
        if (!c || c.owner !== owner || c.repo !== repo) return notFound;
        comments.delete(c.id);
        return { status: 204 };
      }
      case "repos/create-deployment": {
        const d: FakeDeployment = { id: nextId++, owner, repo, request: body, statuses: [] };
        deployments.set(d.id, d);
        return { status: 201, body: deploymentJson(d, who) };
      }
      case "repos/create-deployment-status": {
        const d = deployments.get(Number(params.deployment_id));
        if (!d || d.owner !== owner || d.repo !== repo) return notFound;
        const id = nextId++;
        const deploymentUrl = `${base}/repos/${owner}/${repo}/deployments/${String(d.id)}`;
        const status = {
          url: `${deploymentUrl}/statuses/${String(id)}`,
          id,
          node_id: `DES_${String(id)}`,
          state: body.state,
          creator: simpleUser(base, who, userId(who.login)),
          description: typeof body.description === "string" ? body.description : "",
          environment: typeof body.environment === "string" ? body.environment : d.request.environment,
          // The description types these as URIs (an empty string is not one): unset ones are left out.
          target_url:
            typeof body.log_url === "string" && body.log_url
              ? body.log_url
              : `https://github.com/${owner}/${repo}/deployments`,
          created_at: now(),
          updated_at: now(),
          deployment_url: deploymentUrl,
          repository_url: `${base}/repos/${owner}/${repo}`,
          ...(typeof body.environment_url === "string" && body.environment_url
            ? { environment_url: body.environment_url }
            : {}),
          ...(typeof body.log_url === "string" && body.log_url ? { log_url: body.log_url } : {}),
        };
        d.statuses.push(body);
        return { status: 201, body: status };
      }
      case "repos/get-environment": {
        const e = environments.get(`${owner}/${repo}/${params.environment_name ?? ""}`);
        return e ? { status: 200, body: environmentJson(owner, repo, e) } : notFound;
      }
      case "actions/get-reviews-for-run": {
        const runId = Number(params.run_id);
        const body = reviews
          .filter((r) => r.owner === owner && r.repo === repo && r.runId === runId)
          .map((r) => ({
            environments: r.environments.flatMap((name) => {
              const e = environments.get(`${owner}/${repo}/${name}`);
              return e ? [environmentJson(owner, repo, e)] : [];
            }),
            state: r.state,
            user: simpleUser(base, r.user, userId(r.user.login)),
            comment: "",
          }));
        return { status: 200, body };
      }
      default:
        return undefined;
    }
  }

  function answer(
    res: ServerResponse,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { "content-type": "application/json; charset=utf-8" } : {}),
      ...headers,
    });
    res.end(text);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url ?? "/", base);
    const query = Object.fromEntries(url.searchParams);
    const text = await readBody(req);
    const record = (operationId: string | undefined, status: number, body: unknown): void => {
      requests.push({ method, path: url.pathname, query, operationId, body, status });
    };
    const violate = (kind: Violation["kind"], message: string): void => {
      violations.push({ kind, method, path: url.pathname, message });
    };

    let body: unknown = undefined;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        violate("request", `the body is not JSON: ${text.slice(0, 100)}`);
        answer(res, 400, { message: "Problems parsing JSON", documentation_url: DOCS });
        record(undefined, 400, text);
        return;
      }
      if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
        violate("request", `JSON body sent as content-type "${req.headers["content-type"] ?? ""}"`);
      }
    }
    const request = {
      method,
      path: url.pathname,
      query,
      headers: req.headers as Record<string, string | string[]>,
      ...(body === undefined ? {} : { body }),
    };

    const operation = api.router.matchOperation(request);
    if (!operation) {
      const allowed = METHODS.filter(
        (m) => api.router.matchOperation({ ...request, method: m.toUpperCase() }) !== undefined,
      ).map((m) => m.toUpperCase());
      if (allowed.length)
        violate("method", `${method} is not an operation of this path (has ${allowed.join(", ")})`);
      else violate("route", `no GitHub REST operation has the path ${url.pathname}`);
      answer(res, 404, { message: "Not Found", documentation_url: DOCS });
      record(undefined, 404, body);
      return;
    }
    const operationId = operation.operationId ?? `${method} ${operation.path}`;

    const declared = new Set(
      (operation.parameters ?? []).flatMap((p) => ("in" in p && p.in === "query" ? [p.name] : [])),
    );
    const unknownQuery = Object.keys(query).filter((k) => !declared.has(k));
    const validation = api.validator.validateRequest(request, operation);
    if (!validation.valid || unknownQuery.length) {
      const errors = [
        ...(validation.errors ?? []).map(
          (e) => `${e.instancePath || "/"} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`,
        ),
        ...unknownQuery.map((k) => `/query/${k} is not a parameter of ${operationId}`),
      ];
      violate("request", `${operationId}: ${errors.join("; ")}`);
      answer(res, 422, { message: "Validation Failed (OpenAPI)", errors, documentation_url: DOCS });
      record(operationId, 422, body);
      return;
    }

    const auth = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const who = auth === undefined ? undefined : tokens[auth];
    let out: Handled | undefined;
    const injected = failures.find(
      (f) => f.failure.operationId === undefined || f.failure.operationId === operationId,
    );
    if (injected) {
      injected.left--;
      if (injected.left <= 0) failures.splice(failures.indexOf(injected), 1);
      out = {
        status: injected.failure.status,
        body: injected.failure.body,
        headers: { ...injected.failure.headers },
      };
    } else if (!who) {
      out = { status: 401, body: { message: "Bad credentials", documentation_url: DOCS, status: "401" } };
    } else {
      out = handle(
        operationId,
        api.router.parseRequest(request, operation).params as Record<string, string>,
        query,
        (body ?? {}) as Record<string, unknown>,
        who,
      );
      if (!out) {
        violate("unmodelled", `${operationId} is valid but not modelled by the fake server`);
        out = { status: 501, body: { message: `${operationId} is not modelled`, documentation_url: DOCS } };
      }
    }

    const declaredStatus = (operation.responses as Record<string, { content?: Record<string, unknown> }>)[
      String(out.status)
    ];
    if (out.body !== undefined && declaredStatus?.content?.["application/json"] !== undefined) {
      const checked = api.validator.validateResponse(out.body, operation, out.status);
      if (!checked.valid) {
        violate(
          "response",
          `${operationId} ${String(out.status)}: ${(checked.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`).join("; ")}`,
        );
      }
    }
    answer(res, out.status, out.body, out.headers);
    record(operationId, out.status, body);
  }

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      violations.push({
        kind: "request",
        method: req.method ?? "",
        path: req.url ?? "",
        message: `the fake server failed: ${String(err)}`,
      });
      if (!res.headersSent) answer(res, 500, { message: "fake server error", documentation_url: DOCS });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

  return {
    url: base,
    violations,
    requests,
    specLoadMs: loadMs,
    seedComment(target, text, user = { login: "octocat", type: "User" }) {
      const c: FakeComment = {
        id: nextId++,
        owner: target.owner,
        repo: target.repo,
        issueNumber: target.issueNumber,
        body: text,
        user,
        createdAt: now(),
        updatedAt: now(),
      };
      comments.set(c.id, c);
      return c;
    },
    comments(owner, repo, issueNumber) {
      return [...comments.values()]
        .filter((c) => c.owner === owner && c.repo === repo && c.issueNumber === issueNumber)
        .sort((a, b) => a.id - b.id);
    },
    deployments(owner, repo) {
      return [...deployments.values()].filter((d) => d.owner === owner && d.repo === repo);
    },
    seedEnvironment(owner, repo, environment) {
      environments.set(`${owner}/${repo}/${environment.name}`, { ...environment, id: nextId });
      nextId += 10;
    },
    seedRunReview(owner, repo, review) {
      reviews.push({ ...review, owner, repo });
    },
    failNext(failure) {
      failures.push({ failure, left: failure.times ?? 1 });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
      });
    },
  };
}
