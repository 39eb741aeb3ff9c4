// The pool events listed under the timeline: crashes and timeouts one by one (they are rare and
// each needs a look), recycles counted (a pool recycling by design makes many). Pure.
import type { Marker } from "./timeline";

export interface PoolEventSummary {
  /** Crashes and timeouts, the latest first, at most the limit. */
  notable: Marker[];
  /** How many crashes and timeouts the limit left out. */
  notableLeftOut: number;
  recycles: number;
  lastRecycle: Marker | null;
}

export function summarizeEvents(markers: readonly Marker[], limit: number): PoolEventSummary {
  const notable: Marker[] = [];
  let notableTotal = 0;
  let recycles = 0;
  let lastRecycle: Marker | null = null;
  for (let index = markers.length - 1; index >= 0; index--) {
    const marker = markers[index];
    if (marker.kind === "recycle") {
      recycles++;
      lastRecycle ??= marker;
    } else if (notableTotal++ < limit) {
      notable.push(marker);
    }
  }
  return { notable, notableLeftOut: notableTotal - notable.length, recycles, lastRecycle };
}
