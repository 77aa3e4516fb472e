/** CloudWatch adapter of {@link AlarmPort}. */
import { type CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import type { AlarmPort, AlarmState } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** Alarm states through the AWS SDK v3 (DescribeAlarms takes at most 100 names a call). */
export class AlarmAdapter implements AlarmPort {
  private readonly cloudwatch: CloudWatchClient;

  constructor(cloudwatch: CloudWatchClient) {
    this.cloudwatch = cloudwatch;
  }

  async states(names: readonly string[]): Promise<{ alarms: AlarmState[]; missing: string[] }> {
    const alarms: AlarmState[] = [];
    for (let i = 0; i < names.length; i += 100) {
      const batch = names.slice(i, i + 100);
      const res = await withRetry("describe CloudWatch alarms", () =>
        this.cloudwatch.send(
          new DescribeAlarmsCommand({ AlarmNames: batch, AlarmTypes: ["MetricAlarm", "CompositeAlarm"] }),
        ),
      );
      for (const a of [...(res.MetricAlarms ?? []), ...(res.CompositeAlarms ?? [])]) {
        alarms.push({
          name: a.AlarmName ?? "",
          state: a.StateValue ?? "INSUFFICIENT_DATA",
          reason: a.StateReason ?? "",
        });
      }
    }
    const found = new Set(alarms.map((a) => a.name));
    return { alarms, missing: names.filter((n) => !found.has(n)) };
  }
}
