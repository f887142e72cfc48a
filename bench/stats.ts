/** Small, dependency-free statistics for the benchmark tables. */

/** The q-quantile (0..1) of the values, nearest-rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Smallest and largest value, for the "spread" column of repeated runs. */
export const spread = (values: readonly number[]): { min: number; max: number } => ({
  min: values.length ? Math.min(...values) : Number.NaN,
  max: values.length ? Math.max(...values) : Number.NaN,
});

/** Stops after `ms`, or at once when aborted: the way every load loop is bounded. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
