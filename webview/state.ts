// The webview's state and its one reducer: every change, from the extension's messages or from
// the user, goes through reduce(). Unchanged slices keep their identity, so views redraw only
// what a message touched (they compare references).
import type { DeepDiveRunning, SessionStatus, ToWebview } from "../profiler/protocol";
import type { Recommendation, Report } from "./model";
import { DEFAULT_SORT, isRouteFilter, isSortColumn, nextSort, type RouteFilter, type RouteSort, type SortColumn } from "./routes";
import { isTabId, TABS, type TabId } from "./tabs";
import { appendTimeline, emptyTimeline, resetTimeline, type Timeline } from "./timeline";

export interface UiState {
  readonly tab: TabId;
  readonly sort: RouteSort;
  readonly filter: RouteFilter;
  /** The route whose verdicts are expanded in the table ("GET /export"), or none. */
  readonly selectedRoute: string | null;
  /** The budget last asked for in the recommendations tab; null: the engine's default. */
  readonly budgetMiB: number | null;
}

export interface State {
  readonly status: SessionStatus | null;
  readonly timeline: Timeline;
  readonly report: Report | null;
  readonly recommendation: Recommendation | null;
  /** A recommendation was asked for and has not come back yet. */
  readonly recommendPending: boolean;
  /** The deep dive the extension is waiting for, if any (the report's deepDive is the last one done). */
  readonly deepDiveRunning: DeepDiveRunning | null;
  /** The last error the extension reported, until dismissed. */
  readonly error: string | null;
  readonly ui: UiState;
}

export type UiAction =
  /** The panel was (re)loaded: what getState() kept of the last one. */
  | { type: "ui/restore"; saved: unknown }
  | { type: "ui/selectTab"; tab: TabId }
  | { type: "ui/sortBy"; column: SortColumn }
  | { type: "ui/filterRoutes"; filter: RouteFilter }
  | { type: "ui/toggleRoute"; key: string }
  | { type: "ui/requestRecommendation"; budgetMiB: number | null }
  | { type: "ui/dismissError" };

export type Action = ToWebview | UiAction;

export const DEFAULT_UI: UiState = { tab: TABS[0].id, sort: DEFAULT_SORT, filter: "all", selectedRoute: null, budgetMiB: null };

export function initialState(): State {
  return { status: null, timeline: emptyTimeline(), report: null, recommendation: null, recommendPending: false, deepDiveRunning: null, error: null, ui: DEFAULT_UI };
}

export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "status":
      return { ...state, status: action.status };
    case "timeline": {
      const timeline = appendTimeline(state.timeline, action.batch);
      return timeline === state.timeline ? state : { ...state, timeline };
    }
    case "timelineReset":
      return { ...state, timeline: resetTimeline(state.timeline, action.batch) };
    case "report":
      return { ...state, report: action.report };
    case "recommendation":
      return { ...state, recommendation: action.recommendation, recommendPending: false };
    case "error":
      return { ...state, error: action.message, recommendPending: false };
    case "showTab":
      return withUi(state, { tab: action.tab });
    case "deepDiveRunning":
      return state.deepDiveRunning === action.running ? state : { ...state, deepDiveRunning: action.running };
    case "ui/restore":
      return { ...state, ui: restoreUi(action.saved) };
    case "ui/selectTab":
      return withUi(state, { tab: action.tab });
    case "ui/sortBy":
      return withUi(state, { sort: nextSort(state.ui.sort, action.column) });
    case "ui/filterRoutes":
      return withUi(state, { filter: action.filter });
    case "ui/toggleRoute":
      return withUi(state, { selectedRoute: state.ui.selectedRoute === action.key ? null : action.key });
    case "ui/requestRecommendation":
      return { ...withUi(state, { budgetMiB: action.budgetMiB }), recommendPending: true };
    case "ui/dismissError":
      return state.error === null ? state : { ...state, error: null };
  }
}

function withUi(state: State, change: Partial<UiState>): State {
  const ui = { ...state.ui, ...change };
  const same = (Object.keys(change) as (keyof UiState)[]).every((key) => ui[key] === state.ui[key]);
  return same ? state : { ...state, ui };
}

/** What the panel keeps across hide/show: the UI choices, not the data (the extension resends that on "ready"). */
export interface SavedState {
  readonly v: 1;
  readonly ui: UiState;
}

export const savedState = (state: State): SavedState => ({ v: 1, ui: state.ui });

/** The UI of a saved state; whatever is missing or no longer valid (a tab since removed) takes its default. */
export function restoreUi(saved: unknown): UiState {
  const ui = isObject(saved) && saved.v === 1 && isObject(saved.ui) ? saved.ui : {};
  const sort = isObject(ui.sort) ? ui.sort : {};
  return {
    tab: isTabId(ui.tab) ? ui.tab : DEFAULT_UI.tab,
    sort: isSortColumn(sort.column) && (sort.direction === "asc" || sort.direction === "desc") ? { column: sort.column, direction: sort.direction } : DEFAULT_SORT,
    filter: isRouteFilter(ui.filter) ? ui.filter : DEFAULT_UI.filter,
    selectedRoute: typeof ui.selectedRoute === "string" ? ui.selectedRoute : null,
    budgetMiB: typeof ui.budgetMiB === "number" && ui.budgetMiB > 0 ? ui.budgetMiB : null,
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

/** Every message type (a Record, so a type added to ToWebview must be added here). */
const MESSAGE_TYPES: Record<ToWebview["type"], true> = {
  status: true, timeline: true, timelineReset: true, report: true, recommendation: true, error: true, showTab: true, deepDiveRunning: true,
};

/** A message event's data that is one of ours (a webview also sees messages from VS Code itself). */
export const isToWebview = (data: unknown): data is ToWebview => isObject(data) && typeof data.type === "string" && Object.hasOwn(MESSAGE_TYPES, data.type);
