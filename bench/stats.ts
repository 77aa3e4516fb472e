/**
 * What every benchmark reports: a median with its spread, and the machine's own noise beside it.
 */

/** One measure: median, p95 and range of its samples (milliseconds). */
export interface Stat {
  name: string;
  unit: "ms";
  runs: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/** Median, p95, min and max of `samples`, rounded to 0.1 ms. */
export function summarize(name: string, samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return {
    name,
    unit: "ms",
    runs: s.length,
    median: r(at(0.5)),
    p95: r(at(0.95)),
    min: r(s[0] ?? NaN),
    max: r(s.at(-1) ?? NaN),
  };
}

/**
 * Time a fixed CPU-bound loop: its spread over a few runs, reported beside the results, tells a
 * reader a regression from a busy machine.
 */
export function noiseLoop(): number {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 30_000_000; i++) x = (x + i * 7) % 1_000_003;
  if (x < 0) console.log(x);
  return performance.now() - t;
}
