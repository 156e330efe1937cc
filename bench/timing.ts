// Timing helpers shared by every system in the bench, so all are measured the same way.

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Median wall time of one call of fn, in seconds: warm-up calls first (at least `warmupReps`, and
 * for 10% of minSeconds, so V8 has tiered the code up), then calls until minSeconds have passed
 * and at least minReps were timed.
 */
export function medianSecondsPerCall(fn: () => void, minSeconds: number, minReps = 5, warmupReps = 3, maxReps = 100_000): number {
  const warmEnd = performance.now() + 100 * minSeconds;
  for (let i = 0; i < warmupReps || performance.now() < warmEnd; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - start < 1000 * minSeconds)) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}
