/**
 * AWS SDK v3 clients, built once in the composition root and handed to the adapters. For the
 * sandbox they point at its 127.0.0.1 endpoint with fixed, sandbox-only credentials.
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ECSClient } from "@aws-sdk/client-ecs";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { RDSClient } from "@aws-sdk/client-rds";
import { S3Client } from "@aws-sdk/client-s3";
import type { InitializeMiddleware, MetadataBearer } from "@smithy/types";

/** The clients gantry uses, one per service. */
export interface AwsClients {
  readonly ecs: ECSClient;
  readonly ecr: ECRClient;
  readonly rds: RDSClient;
  readonly elb: ElasticLoadBalancingV2Client;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
  readonly s3: S3Client;
  /** AWS API calls made so far, by `Client.Command` (DESIGN.md: counted and reported per deploy). */
  calls(): Readonly<Record<string, number>>;
  /** Close every client's sockets. */
  destroy(): void;
}

/** Where the clients talk to. */
export interface AwsTarget {
  readonly region: string;
  /** Set for the sandbox: every service on one local endpoint, fixed credentials. */
  readonly endpoint?: string;
}

/** Credentials of the sandbox account; they grant nothing anywhere else. */
export const SANDBOX_CREDENTIALS = {
  accessKeyId: "gantry-sandbox",
  secretAccessKey: "gantry-sandbox",
} as const;

/** Build the clients once. Retries are gantry's (src/aws/retry.ts), so the SDK makes one attempt. */
export function createAwsClients(target: AwsTarget): AwsClients {
  const common = {
    region: target.region,
    maxAttempts: 1,
    ...(target.endpoint ? { endpoint: target.endpoint, credentials: SANDBOX_CREDENTIALS } : {}),
  };
  const clients = {
    ecs: new ECSClient(common),
    ecr: new ECRClient(common),
    rds: new RDSClient(common),
    elb: new ElasticLoadBalancingV2Client(common),
    cloudwatch: new CloudWatchClient(common),
    logs: new CloudWatchLogsClient(common),
    s3: new S3Client({ ...common, forcePathStyle: target.endpoint !== undefined }),
  };
  const counts: Record<string, number> = {};
  const counter: InitializeMiddleware<object, MetadataBearer> = (next, context) => (args) => {
    const client = (context.clientName ?? "AWS").replace(/Client$/, "");
    const key = `${client}.${(context.commandName ?? "?").replace(/Command$/, "")}`;
    counts[key] = (counts[key] ?? 0) + 1;
    return next(args);
  };
  const counted = (stack: {
    add(m: typeof counter, o: { step: "initialize"; name: string }): void;
  }): void => {
    stack.add(counter, { step: "initialize", name: "gantryCallCounter" });
  };
  for (const client of Object.values(clients)) counted(client.middlewareStack);
  return {
    ...clients,
    calls: () => ({ ...counts }),
    destroy() {
      for (const c of Object.values(clients)) c.destroy();
    },
  };
}
