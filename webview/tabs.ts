// The panel's tabs, in order. Adding one is a line here plus its view in views/app.ts, which the
// type below makes the compiler ask for.
export const TABS = [
  { id: "memory", title: "Memory" },
  { id: "routes", title: "Routes" },
  { id: "recommendations", title: "Recommendations" },
  { id: "deep", title: "Deep dive" },
] as const;

export type TabId = (typeof TABS)[number]["id"];

export const isTabId = (value: unknown): value is TabId => TABS.some((tab) => tab.id === value);
