/** CloudWatch Logs adapter of {@link LogsPort}. */
import { type CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { AwsError } from "../errors.ts";
import type { LogsPort } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** The last lines of a stream; a missing stream is no lines, not an error. */
export class LogsAdapter implements LogsPort {
  private readonly logs: CloudWatchLogsClient;

  constructor(logs: CloudWatchLogsClient) {
    this.logs = logs;
  }

  async tail(group: string, stream: string, lines: number): Promise<string[]> {
    try {
      const res = await withRetry(`read log stream ${group}/${stream}`, () =>
        this.logs.send(
          new GetLogEventsCommand({
            logGroupName: group,
            logStreamName: stream,
            limit: lines,
            startFromHead: false,
          }),
        ),
      );
      return (res.events ?? []).map((e) => e.message ?? "");
    } catch (err) {
      if (err instanceof AwsError && err.code === "AWS_ResourceNotFoundException") return [];
      throw err;
    }
  }
}
