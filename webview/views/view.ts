// What every view gets and gives. Views never see VS Code's API: they send typed messages and
// dispatch UI actions through these callbacks (a plain page, the offline report, passes its own).
import type { FromWebview } from "../../profiler/protocol";
import type { State, UiAction } from "../state";
import type { Palette } from "../theme";

export interface ViewContext {
  send(message: FromWebview): void;
  dispatch(action: UiAction): void;
  /** A page with nobody to answer (the offline HTML report): no budget to ask for, no export or go-to-line; the CLI's commands instead. */
  offline?: boolean;
}

export interface View {
  readonly element: HTMLElement;
  /** Redraws what changed since the last state it saw (views compare slices by reference). */
  update(state: State): void;
  setPalette?(palette: Palette): void;
}
