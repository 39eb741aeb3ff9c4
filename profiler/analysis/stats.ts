// Small statistics for the analysis, all of them usable on a stream: a median by selection,
// a bounded uniform sample, and a line fit kept as running sums.

/** Median; NaN for an empty list. O(n): a copy and a selection, not a sort. */
export function median(values: ArrayLike<number>): number {
  const count = values.length;
  if (count === 0) return Number.NaN;
  const copy = Float64Array.from(values as ArrayLike<number>);
  const upper = select(copy, count >> 1);
  if (count % 2 === 1) return upper;
  // The lower middle is the largest value left of the upper one after the selection.
  let lower = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count >> 1; i++) if (copy[i] > lower) lower = copy[i];
  return (lower + upper) / 2;
}

/** The value at `share` (0–1) of the sorted values, nearest rank; NaN when empty. */
export function percentile(values: ArrayLike<number>, share: number): number {
  const count = values.length;
  if (count === 0) return Number.NaN;
  const rank = Math.min(count - 1, Math.max(0, Math.ceil(share * count) - 1));
  return select(Float64Array.from(values as ArrayLike<number>), rank);
}

/** Hoare's selection: puts the k-th smallest at index k (smaller left, larger right) and returns it. */
function select(values: Float64Array, k: number): number {
  let left = 0;
  let right = values.length - 1;
  while (left < right) {
    const pivot = values[(left + right) >> 1];
    let i = left;
    let j = right;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i] = values[j];
        values[j] = swap;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else break;
  }
  return values[k];
}

/**
 * A uniform sample of at most `capacity` values of a stream (Vitter's algorithm R), so medians
 * stay exact until the stream is longer than the capacity and approximate after. The sampling
 * is seeded: the same stream gives the same sample, so a report is reproducible.
 */
export class Reservoir {
  private readonly values: number[] = [];
  private seen = 0;
  private random: number;

  constructor(
    readonly capacity: number,
    seed = 1,
  ) {
    this.random = seed >>> 0 || 1;
  }

  add(value: number): void {
    this.seen += 1;
    if (this.values.length < this.capacity) {
      this.values.push(value);
      return;
    }
    const slot = Math.floor(this.nextRandom() * this.seen);
    if (slot < this.capacity) this.values[slot] = value;
  }

  /** Values added so far (the sample holds min(seen, capacity) of them). */
  get count(): number {
    return this.seen;
  }

  get exact(): boolean {
    return this.seen <= this.capacity;
  }

  sample(): readonly number[] {
    return this.values;
  }

  /** xorshift32 in [0, 1). */
  private nextRandom(): number {
    let x = this.random;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.random = x;
    return x / 4294967296;
  }
}

/** Centred sums of a least-squares line fit; sums of several series pool them with one intercept each. */
export interface FitSums {
  points: number;
  sxx: number;
  sxy: number;
  syy: number;
}

export const emptyFit = (): FitSums => ({ points: 0, sxx: 0, sxy: 0, syy: 0 });

/** One series' fit, updated a point at a time (Welford: no cancellation on long series of big numbers). */
export class LineFit {
  private meanX = 0;
  private meanY = 0;
  readonly sums: FitSums = emptyFit();

  add(x: number, y: number): void {
    const sums = this.sums;
    sums.points += 1;
    const dx = x - this.meanX;
    this.meanX += dx / sums.points;
    const dy = y - this.meanY;
    this.meanY += dy / sums.points;
    sums.sxx += dx * (x - this.meanX);
    sums.syy += dy * (y - this.meanY);
    sums.sxy += dx * (y - this.meanY);
  }
}

export function addFit(total: FitSums, part: FitSums): void {
  total.points += part.points;
  total.sxx += part.sxx;
  total.sxy += part.sxy;
  total.syy += part.syy;
}

/** Slope of the pooled fit; NaN without spread in x. */
export function fitSlope(sums: FitSums): number {
  return sums.sxx > 0 ? sums.sxy / sums.sxx : Number.NaN;
}

/** R² of the pooled fit (share of the spread in y the line explains); NaN when y does not move. */
export function fitR2(sums: FitSums): number {
  return sums.sxx > 0 && sums.syy > 0 ? (sums.sxy * sums.sxy) / (sums.sxx * sums.syy) : Number.NaN;
}

/** Rounds to 0.1 (the report's precision for MiB), never giving -0. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10 + 0;
}

/** Rounds to 0.01: sub-MiB thresholds and growth rates would print 0.25 as 0.3. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100 + 0;
}

export function kibToMiB(kib: number): number {
  return kib / 1024;
}

/** Largest value (-Infinity when empty); a loop, since Math.max(...big) overflows the stack. */
export function maxOf(values: ArrayLike<number>): number {
  let largest = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) if (values[i] > largest) largest = values[i];
  return largest;
}
