/**
 * Classification of AWS SDK v3 failures at the boundary (house style 4): the orchestrator sees
 * an {@link AwsError} with a stable code and a hint, never an SDK exception.
 */
import { AwsError, oneLine } from "../errors.ts";

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const CREDENTIALS = new Set([
  "CredentialsProviderError",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
]);
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);
const THROTTLED = new Set([
  "Throttling",
  "ThrottlingException",
  "TooManyRequestsException",
  "SlowDown",
  "RequestLimitExceeded",
]);
const NETWORK = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPIPE", "TimeoutError"]);

/** True for failures worth retrying: throttling, 5xx, connection resets (house style 8). */
export function isTransient(err: unknown): boolean {
  const e = err as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode ?? 0;
  return (
    THROTTLED.has(e.name ?? "") ||
    status >= 500 ||
    NETWORK.has(e.code ?? "") ||
    NETWORK.has(e.name ?? "") ||
    e.$retryable !== undefined
  );
}

/** Map an SDK failure during `action` (e.g. "read s3://b/k") to an AwsError with a hint. */
export function classifyAwsError(err: unknown, action: string): AwsError {
  if (err instanceof AwsError) return err;
  const e = err as SdkErrorShape;
  const name = e.name ?? "Error";
  const detail = oneLine(e.message ?? String(err));
  if (
    CREDENTIALS.has(name) ||
    (/Could not load credentials|credential/i.test(detail) && name !== "AccessDenied")
  ) {
    return new AwsError(`no valid AWS credentials to ${action}: ${detail}`, {
      code: "AWS_CREDENTIALS",
      source: "user",
      hint: "set AWS credentials (aws sso login, AWS_PROFILE, or OIDC in CI) for this environment's account",
      cause: err,
    });
  }
  if (DENIED.has(name)) {
    return new AwsError(`access denied to ${action}: ${detail}`, {
      code: "AWS_ACCESS_DENIED",
      source: "user",
      hint: "use the environment's deploy role (stack output deployRoleArn)",
      cause: err,
    });
  }
  if (name === "NoSuchBucket") {
    return new AwsError(`the state bucket does not exist (${action})`, {
      code: "AWS_STATE_BUCKET_MISSING",
      source: "user",
      hint: "create it with the bootstrap stack (README: AWS environments), or gantry stack up --env sandbox",
      cause: err,
    });
  }
  if (NETWORK.has(e.code ?? "") || NETWORK.has(name)) {
    return new AwsError(`cannot reach the AWS endpoint to ${action}: ${detail}`, {
      code: "AWS_UNREACHABLE",
      hint: "check the network or, for --env sandbox, gantry sandbox status",
      cause: err,
    });
  }
  if (isTransient(err)) {
    return new AwsError(`AWS kept failing to ${action}: ${name}: ${detail}`, {
      code: "AWS_TRANSIENT",
      hint: "retry the command; AWS or the network is having trouble",
      cause: err,
    });
  }
  return new AwsError(`AWS refused to ${action}: ${name}: ${detail}`, { code: `AWS_${name}`, cause: err });
}
