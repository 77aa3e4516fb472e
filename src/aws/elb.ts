/** ELBv2 adapter of {@link ElbPort}. */
import {
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ElbPort, TargetHealthState } from "./ports.ts";
import { withRetry } from "./retry.ts";

/** Target health through the AWS SDK v3. */
export class ElbAdapter implements ElbPort {
  private readonly elb: ElasticLoadBalancingV2Client;

  constructor(elb: ElasticLoadBalancingV2Client) {
    this.elb = elb;
  }

  async targetHealth(targetGroupArn: string): Promise<TargetHealthState[]> {
    const res = await withRetry(`describe target health of ${targetGroupArn}`, () =>
      this.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })),
    );
    return (res.TargetHealthDescriptions ?? []).map((t) => ({
      id: t.Target?.Id ?? "",
      port: t.Target?.Port,
      state: t.TargetHealth?.State ?? "unavailable",
      reason: t.TargetHealth?.Reason,
      description: t.TargetHealth?.Description,
    }));
  }
}
