// How figures read in the panel: sizes, counts, elapsed time, handler locations. Pure.

/** "0.4 MiB", "148 MiB", "1.2 GiB"; one decimal below 10 MiB so small steps stay visible. */
export function formatMiB(mib: number): string {
  if (!Number.isFinite(mib)) return "–";
  const size = Math.abs(mib);
  if (size >= 1024) return `${(mib / 1024).toFixed(1)} GiB`;
  if (size >= 10) return `${Math.round(mib)} MiB`;
  if (size === 0) return "0 MiB";
  return `${mib.toFixed(1)} MiB`;
}

/** 12345 → "12,345" (locale independent, so tests and screenshots read the same everywhere). */
export function formatCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** 0.031 → "3.1%". */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

/** Elapsed ms as "m:ss" or "h:mm:ss" (negative: a marker before the first sample). */
export function formatElapsed(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  const seconds = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => n.toString().padStart(2, "0");
  return h > 0 ? `${sign}${h}:${pad(m)}:${pad(s)}` : `${sign}${m}:${pad(s)}`;
}

/** Tick spacings a reader counts in: seconds, minutes, hours. */
const TIME_STEPS_MS = [
  ...[1, 2, 5, 10, 15, 30].map((s) => s * 1000),
  ...[1, 2, 5, 10, 15, 30].map((m) => m * 60_000),
  ...[1, 2, 3, 6, 12, 24].map((h) => h * 3_600_000),
];

/** The smallest readable tick spacing that puts at most `maxTicks` ticks over `rangeMs`. */
export function timeStepMs(rangeMs: number, maxTicks: number): number {
  const ticks = Math.max(1, maxTicks);
  return TIME_STEPS_MS.find((step) => rangeMs / step <= ticks) ?? Math.ceil(rangeMs / ticks / 86_400_000) * 86_400_000;
}

/** "views.py:42" for a handler's file (relative or absolute, either separator) and line. */
export function handlerLabel(file: string, line: number): string {
  const base = file.split(/[\\/]/).pop() || file;
  return `${base}:${line}`;
}

/** Tick values for an elapsed-time axis over [min, max] ms: multiples of a readable step. */
export function elapsedTicks(min: number, max: number, maxTicks: number): number[] {
  if (!(max > min)) return [min];
  const step = timeStepMs(max - min, maxTicks);
  const ticks: number[] = [];
  for (let value = Math.ceil(min / step) * step; value <= max; value += step) ticks.push(value);
  return ticks;
}
