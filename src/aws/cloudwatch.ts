/** CloudWatch adapter of {@link AlarmPort}. */
import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import type { AlarmPort, AlarmState } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** Most alarm names one DescribeAlarms call takes (and alarms one page returns). */
const DESCRIBE_ALARMS_MAX = 100;

/** Alarm states through the AWS SDK v3: one DescribeAlarms call per 100 alarm names. */
export class AlarmAdapter implements AlarmPort {
  private readonly cloudwatch: CloudWatchClient;

  constructor(cloudwatch: CloudWatchClient) {
    this.cloudwatch = cloudwatch;
  }

  async states(names: readonly string[]): Promise<{ alarms: AlarmState[]; missing: string[] }> {
    const alarms: AlarmState[] = [];
    for (let i = 0; i < names.length; i += DESCRIBE_ALARMS_MAX) {
      const batch = names.slice(i, i + DESCRIBE_ALARMS_MAX);
      // One page holds every alarm of the batch (MaxRecords defaults to 50); NextToken is followed anyway.
      let nextToken: string | undefined;
      do {
        const res = await withRetry("describe CloudWatch alarms", () =>
          this.cloudwatch.send(
            new DescribeAlarmsCommand({
              AlarmNames: batch,
              AlarmTypes: ["MetricAlarm", "CompositeAlarm"],
              MaxRecords: DESCRIBE_ALARMS_MAX,
              NextToken: nextToken,
            }),
          ),
        );
        for (const a of [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])]) {
          alarms.push({
            name: a.AlarmName ?? "",
            state: a.StateValue ?? "INSUFFICIENT_DATA",
            reason: a.StateReason ?? "",
          });
        }
        nextToken = res.NextToken;
      } while (nextToken);
    }
    const found = new Set(alarms.map((a) => a.name));
    return { alarms, missing: names.filter((n) => !found.has(n)) };
  }
}
