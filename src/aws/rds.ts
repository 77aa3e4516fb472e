/** RDS adapter of {@link RdsPort}. */
import {
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBSnapshotsCommand,
  type DBSnapshot,
  ListTagsForResourceCommand,
  type RDSClient,
} from "@aws-sdk/client-rds";
import { AwsError } from "../errors.ts";
import type { RdsPort, SnapshotState } from "./ports.ts";
import { withRetry } from "./retry.ts";

function toState(s: DBSnapshot, tags: Record<string, string>): SnapshotState {
  return {
    id: s.DBSnapshotIdentifier ?? "",
    status: s.Status ?? "",
    percentProgress: s.PercentProgress ?? 0,
    createdAt: s.SnapshotCreateTime,
    tags,
  };
}

/** Snapshots through the AWS SDK v3. */
export class RdsAdapter implements RdsPort {
  private readonly rds: RDSClient;

  constructor(rds: RDSClient) {
    this.rds = rds;
  }

  async createSnapshot(
    instanceId: string,
    snapshotId: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<SnapshotState> {
    const existing = await this.describeSnapshot(snapshotId);
    if (existing) return existing;
    const res = await withRetry(`create RDS snapshot ${snapshotId}`, () =>
      this.rds.send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: instanceId,
          DBSnapshotIdentifier: snapshotId,
          Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    );
    return toState(res.DBSnapshot ?? { DBSnapshotIdentifier: snapshotId, Status: "creating" }, { ...tags });
  }

  async describeSnapshot(snapshotId: string): Promise<SnapshotState | undefined> {
    try {
      const res = await withRetry(`describe RDS snapshot ${snapshotId}`, () =>
        this.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId })),
      );
      const s = res.DBSnapshots?.[0];
      return s ? toState(s, await this.tags(s.DBSnapshotArn)) : undefined;
    } catch (err) {
      if (err instanceof AwsError && err.code.startsWith("AWS_DBSnapshotNotFound")) return undefined;
      throw err;
    }
  }

  async listSnapshots(instanceId: string): Promise<SnapshotState[]> {
    const res = await withRetry(`list RDS snapshots of ${instanceId}`, () =>
      this.rds.send(
        new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: instanceId, SnapshotType: "manual" }),
      ),
    );
    const states = await Promise.all(
      (res.DBSnapshots ?? []).map(async (s) => toState(s, await this.tags(s.DBSnapshotArn))),
    );
    return states.sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    await withRetry(`delete RDS snapshot ${snapshotId}`, () =>
      this.rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: snapshotId })),
    );
  }

  private async tags(arn: string | undefined): Promise<Record<string, string>> {
    if (!arn) return {};
    const res = await withRetry(`list tags of ${arn}`, () =>
      this.rds.send(new ListTagsForResourceCommand({ ResourceName: arn })),
    );
    return Object.fromEntries((res.TagList ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
  }
}
