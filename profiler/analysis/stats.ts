// Small robust statistics for the analysis: medians and slopes resist the single odd
// reading that CPython's allocator produces now and then.

/** Median; NaN for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Most points used by theilSenSlope; more would cost O(n²) pairs for little gain. */
const MAX_SLOPE_POINTS = 301;

/**
 * Theil–Sen slope of ys against their index: the median of all pairwise slopes.
 * One outlier moves it little, unlike a least-squares fit. NaN with fewer than 2 points.
 * Long series are thinned evenly first (fine for cumulative series, whose slope survives thinning).
 */
export function theilSenSlope(ys: readonly number[]): number {
  if (ys.length < 2) return Number.NaN;
  const indices = thinIndices(ys.length, MAX_SLOPE_POINTS);
  const slopes: number[] = [];
  for (let a = 0; a < indices.length; a++) {
    for (let b = a + 1; b < indices.length; b++) {
      const i = indices[a];
      const j = indices[b];
      slopes.push((ys[j] - ys[i]) / (j - i));
    }
  }
  return median(slopes);
}

function thinIndices(length: number, maxPoints: number): number[] {
  if (length <= maxPoints) return Array.from({ length }, (_, i) => i);
  const step = (length - 1) / (maxPoints - 1);
  return Array.from({ length: maxPoints }, (_, k) => Math.round(k * step));
}

/** Running sums: [0, v0, v0+v1, ...]. */
export function cumulative(values: readonly number[]): number[] {
  const sums = [0];
  for (const value of values) sums.push(sums[sums.length - 1] + value);
  return sums;
}

/** Rounds to 0.1 (the report's precision for MiB), never giving -0. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10 + 0;
}

export function kibToMiB(kib: number): number {
  return kib / 1024;
}

/** Largest value (-Infinity when empty); a loop, since Math.max(...big) overflows the stack. */
export function maxOf(values: readonly number[]): number {
  let largest = Number.NEGATIVE_INFINITY;
  for (const value of values) if (value > largest) largest = value;
  return largest;
}

/** Smallest value (Infinity when empty). */
export function minOf(values: readonly number[]): number {
  let smallest = Number.POSITIVE_INFINITY;
  for (const value of values) if (value < smallest) smallest = value;
  return smallest;
}
