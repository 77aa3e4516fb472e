/**
 * The S3 adapter of the orchestrator's ObjectStore: each environment's deploy lock, journals and
 * ledger, with conditional writes (If-None-Match / If-Match); a condition that did not hold or an
 * object that is not there is answered as the port's typed result, any other failure is thrown
 * classified (AwsError). The sandbox runs the same adapter against its emulated S3.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { AwsError } from "../errors.ts";
import { classifyAwsError } from "./errors.ts";
import type { ObjectStore, StoredObject, Written } from "../orchestrator/store.ts";

/** 412, or 409 ConditionalRequestConflict (a concurrent conditional write won): the same meaning. */
function isPreconditionFailed(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (
    e.name === "PreconditionFailed" ||
    e.name === "ConditionalRequestConflict" ||
    e.$metadata?.httpStatusCode === 412
  );
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
}

/** S3 adapter of {@link ObjectStore}: `s3://bucket/prefix/<key>`. */
export class S3Store implements ObjectStore {
  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(s3: S3Client, bucket: string, prefix: string) {
    this.s3 = s3;
    this.bucket = bucket;
    this.prefix = prefix.replace(/\/?$/, "/");
  }

  /**
   * Create the bucket unless it exists. Only for the sandbox's own state bucket: real environments'
   * buckets come from the bootstrap stack, and the deploy role may not create buckets.
   */
  async ensureBucket(): Promise<void> {
    try {
      await this.s3
        .send(new HeadBucketCommand({ Bucket: this.bucket }))
        .catch(() => this.s3.send(new CreateBucketCommand({ Bucket: this.bucket })));
    } catch (err) {
      throw classifyAwsError(err, `create the state bucket ${this.bucket}`);
    }
  }

  private fail(err: unknown, action: string, key: string): AwsError {
    return classifyAwsError(err, `${action} s3://${this.bucket}/${this.prefix}${key}`);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const body = (await res.Body?.transformToString("utf8")) ?? "";
      return { body, etag: res.ETag ?? "" };
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchBucket") throw this.fail(err, "read", key);
      if (isNotFound(err)) return undefined;
      throw this.fail(err, "read", key);
    }
  }

  /** PutObject under a condition; "lost" when the condition did not hold. */
  private async conditionalPut(
    key: string,
    body: string,
    condition: { IfNoneMatch: "*" } | { IfMatch: string },
    action: string,
  ): Promise<Written | "lost"> {
    try {
      const res = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentType: "application/json",
          ...condition,
        }),
      );
      return { etag: res.ETag ?? "" };
    } catch (err) {
      // A replace of an object that is gone also lost its condition.
      if (isPreconditionFailed(err) || ("IfMatch" in condition && isNotFound(err))) return "lost";
      throw this.fail(err, action, key);
    }
  }

  async putIfAbsent(key: string, body: string): Promise<Written | "exists"> {
    const res = await this.conditionalPut(key, body, { IfNoneMatch: "*" }, "create");
    return res === "lost" ? "exists" : res;
  }

  async putIfMatch(key: string, body: string, etag: string): Promise<Written | "changed"> {
    const res = await this.conditionalPut(key, body, { IfMatch: etag }, "replace");
    return res === "lost" ? "changed" : res;
  }

  async deleteIfMatch(key: string, etag: string): Promise<boolean> {
    try {
      await this.s3.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, IfMatch: etag }),
      );
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || isNotFound(err)) return false;
      throw this.fail(err, "delete", key);
    }
  }

  async list(prefix: string, limit: number): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.s3.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            ContinuationToken: token,
            MaxKeys: Math.min(1000, limit - keys.length),
          }),
        );
        for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.prefix.length));
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token && keys.length < limit);
    } catch (err) {
      throw this.fail(err, "list", prefix);
    }
    return keys.slice(0, limit);
  }
}
