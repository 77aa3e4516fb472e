/** HttpPort over the global fetch, with a per-request timeout; never throws. */
import { oneLine } from "../errors.ts";
import type { HealthResponse, HttpPort } from "./ports.ts";

/** GETs a health URL and parses JSON when it can. */
export class FetchHttp implements HttpPort {
  async get(url: string, timeoutMs: number): Promise<HealthResponse> {
    const started = performance.now();
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { accept: "application/json" },
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
