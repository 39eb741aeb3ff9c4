// The engine's types the webview reads, derived from protocol.ts's messages: the webview imports
// nothing of the engine but protocol.ts's types (ARCHITECTURE.md), and these stay in step with it.
import type { ToWebview } from "../profiler/protocol";

type Payload<T extends ToWebview["type"], K extends string> = Extract<ToWebview, { type: T }> extends infer M
  ? M extends Record<K, infer V> ? V : never
  : never;

export type Report = Payload<"report", "report">;
export type RouteReport = Report["routes"][number];
export type RouteVerdict = RouteReport["verdicts"][number];
export type Handler = NonNullable<RouteReport["handler"]>;

export type Recommendation = Payload<"recommendation", "recommendation">;
export type RecommendedSettings = Recommendation["settings"];
export type SettingName = keyof RecommendedSettings;
export type Prediction = Recommendation["predicted"];
export type Alternative = Recommendation["alternatives"][number];
