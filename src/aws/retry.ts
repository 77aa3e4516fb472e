/**
 * The one retry policy for AWS calls (house style 8): transient failures only (throttling, 5xx,
 * connection resets), exponential backoff with jitter, a few attempts, abortable. The SDK clients
 * are built with maxAttempts 1 so retries are not stacked.
 */
import pRetry from "p-retry";
import { classifyAwsError, isTransient } from "./errors.ts";

/** Run one AWS call with the retry policy; failures come out classified. */
export async function withRetry<T>(action: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await pRetry(call, {
      retries: 4,
      minTimeout: 200,
      maxTimeout: 2000,
      randomize: true,
      shouldRetry: ({ error }) => isTransient(error),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    throw classifyAwsError(err, action);
  }
}
