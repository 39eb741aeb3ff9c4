// What the editor shows on a handler's own line, from a Report: the warning of a flagged route
// ("GET /export inflates each worker by 148 MiB; peak 152 MiB over 14 calls", every verdict,
// primary first), the code lenses of every observed handler (its figures; Deep dive while its app
// runs) and the hover with its figures. Pure: no LSP types, so the words are tested on their own
// and the server only places them.
import { isAbsolute, resolve } from "node:path";
import type { DeepDiveCommandArgs } from "../protocol";
import type { Report, RouteReport, RouteVerdict } from "../record/model";

/** A report the editor shows, and whether its app runs now (a deep dive needs it running). */
export interface ShownReport {
  report: Report;
  sessionId: string;
  running: boolean;
}

/** One route whose handler is known: where its lens, hover and warning go. */
export interface HandlerMark {
  /** The handler's file, absolute. */
  path: string;
  /** 0-based (LSP); the report's lines are 1-based. */
  line: number;
  route: RouteReport;
  /** The Deep dive lens's arguments while the route's app runs; null otherwise. */
  deepDive: DeepDiveCommandArgs | null;
}

/** A command a lens runs: the panel, or a deep dive on the route. */
export interface LensAction {
  title: string;
  command: string;
  arguments: unknown[];
}

export const SHOW_PANEL_COMMAND = "balloon.showPanel";
export const DEEP_DIVE_COMMAND = "balloon.deepDive";

/** A handler file as the report gives it (relative to the app's directory, or absolute) → absolute. */
export function handlerPath(appDir: string, file: string): string {
  return isAbsolute(file) ? file : resolve(appDir, file);
}

/** Every route with a handler file and line, by absolute file path. Routes without a handler get nothing. */
export function marksByFile(shown: readonly ShownReport[]): Map<string, HandlerMark[]> {
  const byFile = new Map<string, HandlerMark[]>();
  for (const { report, sessionId, running } of shown) {
    for (const route of report.routes) {
      const handler = route.handler;
      if (!handler || !handler.file || !(handler.line >= 1)) continue;
      const path = handlerPath(report.app.cwd, handler.file);
      // "* (other routes)" merges the routes past the analyzer's limit: no one route to replay.
      const deepDive = running && route.method !== "*" ? { sessionId, method: route.method, route: route.route } : null;
      const mark = { path, line: handler.line - 1, route, deepDive };
      const marks = byFile.get(path);
      if (marks) marks.push(mark);
      else byFile.set(path, [mark]);
    }
  }
  return byFile;
}

/** MiB for a sentence: one decimal under 10, whole numbers above. */
export function mib(value: number): string {
  return Math.abs(value) >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

const calls = (count: number): string => `${count} call${count === 1 ? "" : "s"}`;

/** One verdict as words, or null for an open question (that is no warning). */
export function verdictWords(verdict: RouteVerdict): string | null {
  switch (verdict.flag) {
    case "balloon": {
      const f = verdict.figures;
      // A route of mixed sizes: only its big calls balloon, so their figures are the ones to tell.
      if (f.bigCalls !== undefined && f.bigPeakMedianMiB !== undefined) {
        return `balloons by ${mib(f.bigPeakMedianMiB)} MiB on ${f.bigCalls} of ${calls(f.calls)} (max ${mib(f.peakMaxMiB)} MiB)`;
      }
      return `balloons by ${mib(f.peakMedianMiB)} MiB a call (max ${mib(f.peakMaxMiB)} MiB) and keeps ${mib(f.retainedMedianMiB ?? 0)} MiB`;
    }
    case "inflates":
      return `inflates each worker by ${mib(verdict.figures.stepMiB)} MiB`;
    case "leak":
      return `leaks ${mib(verdict.figures.growthPerCallMiB)} MiB per call`;
    case "undecided":
      return null;
  }
}

/** The warning's text, or null when the route is not flagged. */
export function diagnosticMessage(route: RouteReport): string | null {
  const words = route.verdicts.map(verdictWords).filter((text): text is string => text !== null);
  if (route.flags.length === 0 || words.length === 0) return null;
  return `${route.method} ${route.route} ${words.join("; ")}; peak ${mib(route.peakMiB.max)} MiB over ${calls(route.requests)}`;
}

/**
 * The lenses above a handler: its figures (a click opens the panel), then Deep dive while its app
 * runs. `named`: several routes share the handler (one per method, say), so each says which it is;
 * each gets its own Deep dive, as a method's calls can take another path through the handler.
 */
export function lensActions(mark: Pick<HandlerMark, "route" | "deepDive">, named: boolean): LensAction[] {
  const { route } = mark;
  const figures = `peak ${mib(route.peakMiB.max)} MiB · retained ${mib(route.retainedMiB.first)} MiB · ${calls(route.requests)}`;
  const flags = route.flags.length > 0 ? ` · ${route.flags.join(", ")}` : "";
  const name = `${route.method} ${route.route}`;
  const actions: LensAction[] = [{ title: `${named ? `${name}: ` : ""}${figures}${flags}`, command: SHOW_PANEL_COMMAND, arguments: [] }];
  if (mark.deepDive) actions.push({ title: named ? `Deep dive ${name}` : "Deep dive", command: DEEP_DIVE_COMMAND, arguments: [mark.deepDive] });
  return actions;
}

/** Markdown for the hover on a handler's line: each of its routes with its figures and reasons. */
export function hoverMarkdown(routes: readonly RouteReport[]): string {
  return routes.map((route) => {
    const who = route.handler ? ` — \`${route.handler.qualname}\`` : "";
    const lines = [
      `**Balloon** · \`${route.method} ${route.route}\`${who}`,
      "",
      "| | median | max |",
      "| --- | --- | --- |",
      `| peak above the RSS before | ${mib(route.peakMiB.median)} MiB | ${mib(route.peakMiB.max)} MiB |`,
      `| time in the worker | ${mib(route.durationMs.median)} ms | ${mib(route.durationMs.max)} ms |`,
      "",
      `Retained: ${mib(route.retainedMiB.first)} MiB on a worker's first call, ${mib(route.retainedMiB.perRequest)} MiB per repeat call. ` +
        `${calls(route.requests)}${route.errors > 0 ? `, ${route.errors} failed` : ""}.`,
    ];
    for (const verdict of route.verdicts) lines.push("", `- **${verdict.flag}**: ${verdict.reason}`);
    return lines.join("\n");
  }).join("\n\n---\n\n");
}
