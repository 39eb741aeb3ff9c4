// The flag thresholds (user-settable) and their resolution against a run's baseline RSS.
import type { FlagLimits, Thresholds } from "../record/model";
import { round1, round2 } from "./stats";

/**
 * Defaults for Python workers whose RSS at "ready" is 15–60 MiB. Each threshold is
 * max(absolute, fraction × baseline): a bigger app has more allocator noise and bigger
 * ordinary requests, so the bar rises with it, but never below the absolute floor.
 * - balloon 8 MiB / 25 %: ordinary routes peak < 1 MiB; planted balloons peak 20–100 MiB,
 *   above the bar even at a 60 MiB baseline (15 MiB).
 * - inflate 4 MiB / 10 %: a first call that imports modules or fills caches keeps 1–3 MiB;
 *   planted inflations keep 8–30 MiB, above the bar at 60 MiB (6 MiB).
 * - leak 0.5 MiB / 1 %: pymalloc grows in 1 MiB arenas and noise is about ±0.3 MiB per call;
 *   the smallest planted leak (1 MiB per call) must clear the bar at 60 MiB (0.6 MiB),
 *   which 2 % (1.2 MiB) would not.
 */
export const DEFAULT_THRESHOLDS: Thresholds = {
  balloonMiB: 8,
  balloonFraction: 0.25,
  inflateMiB: 4,
  inflateFraction: 0.1,
  leakMiB: 0.5,
  leakFraction: 0.01,
};

/** The defaults with the user's overrides; options given as undefined (a CLI flag not used) keep the default. */
export function effectiveThresholds(overrides: Partial<Thresholds>): Thresholds {
  const given = Object.entries(overrides).filter(([, value]) => typeof value === "number" && Number.isFinite(value));
  return { ...DEFAULT_THRESHOLDS, ...Object.fromEntries(given) };
}

export function resolveLimits(thresholds: Thresholds, baselineMiB: number): FlagLimits {
  return {
    baselineMiB: round1(baselineMiB),
    balloonMiB: Math.max(thresholds.balloonMiB, thresholds.balloonFraction * baselineMiB),
    inflateMiB: Math.max(thresholds.inflateMiB, thresholds.inflateFraction * baselineMiB),
    leakMiB: Math.max(thresholds.leakMiB, thresholds.leakFraction * baselineMiB),
  };
}

/** Limits as printed in the report: 0.1 MiB, the sub-MiB leak bar to 0.01. */
export function roundedLimits(limits: FlagLimits): FlagLimits {
  return { ...limits, balloonMiB: round1(limits.balloonMiB), inflateMiB: round1(limits.inflateMiB), leakMiB: round2(limits.leakMiB) };
}
