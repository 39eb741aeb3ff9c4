// The panel's tabs, in order. Adding one is a line here plus its view in views/app.ts, which the
// type below makes the compiler ask for, and its id in protocol.ts's PanelTab (the extension may
// show any tab: the reducer takes a PanelTab as a TabId, which holds the two lists together).
import type { PanelTab } from "../profiler/protocol";

export const TABS = [
  { id: "memory", title: "Memory" },
  { id: "routes", title: "Routes" },
  { id: "recommendations", title: "Recommendations" },
  { id: "deep", title: "Deep dive" },
] as const satisfies readonly { id: PanelTab; title: string }[];

export type TabId = (typeof TABS)[number]["id"];

export const isTabId = (value: unknown): value is TabId => TABS.some((tab) => tab.id === value);
