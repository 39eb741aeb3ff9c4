// The whole panel: the status line over the tabs, each tab's view. Mounted by main.ts in the
// webview (and, later, by the offline report in a plain page); knows nothing of VS Code.
import type { State } from "../state";
import { TABS, type TabId } from "../tabs";
import type { Palette } from "../theme";
import { registerToolkit, tabs } from "../toolkit";
import { el } from "./dom";
import { deepDiveView } from "./deep-dive";
import { memoryView } from "./memory";
import { recommendationsView } from "./recommendations";
import { routesView } from "./routes-table";
import { statusView } from "./status";
import type { View, ViewContext } from "./view";

/** Each tab's view: a tab added to TABS needs one here. */
const TAB_VIEWS: Record<TabId, (context: ViewContext, palette: Palette) => View> = {
  memory: (_context, palette) => memoryView(palette),
  routes: (context) => routesView(context),
  recommendations: (context) => recommendationsView(context),
  deep: (context) => deepDiveView(context),
};

export interface App {
  render(state: State): void;
  setPalette(palette: Palette): void;
}

export function mountApp(root: HTMLElement, context: ViewContext, palette: Palette): App {
  registerToolkit();
  const status = statusView(context);
  const views = TABS.map((tab) => ({ tab, view: TAB_VIEWS[tab.id](context, palette) }));
  if (context.offline) return mountReport(root, status, views);
  const tabBar = tabs(
    views.map(({ tab, view }) => ({ id: tab.id, title: tab.title, panel: view.element })),
    (id) => context.dispatch({ type: "ui/selectTab", tab: id }),
  );
  root.append(el("div", { class: "app" }, status.element, tabBar.element));
  let tab: TabId | null = null;

  return {
    render(state) {
      if (state.ui.tab !== tab) {
        tab = state.ui.tab;
        tabBar.select(tab);
      }
      status.update(state);
      for (const { view } of views) view.update(state);
    },
    setPalette(next) {
      for (const { view } of views) view.setPalette?.(next);
    },
  };
}

/**
 * The offline report reads top to bottom (and prints): every tab's view as a section under its
 * title, the deep dive's only when the run had one.
 */
function mountReport(root: HTMLElement, status: View, views: readonly { tab: (typeof TABS)[number]; view: View }[]): App {
  const sections = views.map(({ tab, view }) => ({ tab, view, element: el("section", { class: `report-section section-${tab.id}` }, el("h2", { class: "section-title" }, tab.title), view.element) }));
  root.append(el("div", { class: "app report" }, status.element, ...sections.map((section) => section.element)));
  return {
    render(state) {
      status.update(state);
      for (const section of sections) {
        if (section.tab.id === "deep") section.element.hidden = !state.report?.deepDive;
        section.view.update(state);
      }
    },
    setPalette(next) {
      for (const { view } of views) view.setPalette?.(next);
    },
  };
}
