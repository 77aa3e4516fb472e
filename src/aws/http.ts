/** HttpPort over the global fetch, with a per-request timeout; never throws. */
import { oneLine } from "../errors.ts";
import type { HealthResponse, HttpPort, HttpRequest } from "./ports.ts";

/** GETs health URLs and sends smoke-check requests, parsing JSON answers when it can. */
export class FetchHttp implements HttpPort {
  get(url: string, timeoutMs: number): Promise<HealthResponse> {
    return this.request(url, { method: "GET", headers: {}, timeoutMs });
  }

  async request(url: string, request: HttpRequest): Promise<HealthResponse> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(request.timeoutMs);
    try {
      const res = await fetch(url, {
        method: request.method,
        signal: request.signal ? AbortSignal.any([timeout, request.signal]) : timeout,
        headers: {
          accept: "application/json",
          ...(request.body === undefined ? {} : { "content-type": "application/json" }),
          ...request.headers,
        },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { url, status: res.status, body, error: undefined, latencyMs: performance.now() - started };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return {
        url,
        status: undefined,
        body: undefined,
        error: cause ?? oneLine(err),
        latencyMs: performance.now() - started,
      };
    }
  }
}
