// The status line above the tabs: what runs, on which interpreter, how big it is now; a failure
// with its traceback; the extension's last error until dismissed.
import type { SessionState, SessionStatus } from "../../profiler/protocol";
import { formatCount, formatMiB } from "../format";
import type { State } from "../state";
import { button } from "../toolkit";
import { el, replaceChildren } from "./dom";
import type { View, ViewContext } from "./view";

const STATE_WORDS: Record<SessionState, string> = { starting: "Starting", running: "Running", stopping: "Stopping", stopped: "Stopped", failed: "Failed" };

export function statusView(context: ViewContext): View {
  const line = el("div", { class: "status-line", attrs: { role: "status" } });
  const failure = el("div", { class: "failure" });
  const error = el("div", { class: "error-banner", attrs: { role: "alert" } });
  const element = el("header", { class: "status" }, line, failure, error);
  let shown: Pick<State, "status" | "error"> | null = null;

  return {
    element,
    update(state) {
      if (shown && shown.status === state.status && shown.error === state.error) return;
      shown = { status: state.status, error: state.error };
      replaceChildren(line, ...statusWords(state.status));
      failure.hidden = !state.status?.failure;
      if (state.status?.failure) {
        replaceChildren(failure, el("p", {}, state.status.failure.message), state.status.failure.traceback && el("details", {}, el("summary", {}, "Traceback"), el("pre", {}, state.status.failure.traceback)));
      }
      error.hidden = state.error === null;
      if (state.error !== null) replaceChildren(error, el("span", {}, state.error), button("Dismiss", () => context.dispatch({ type: "ui/dismissError" })));
    },
  };
}

function statusWords(status: SessionStatus | null): (Node | string)[] {
  if (!status) return [el("span", { class: "muted" }, "No session yet: run the app with Balloon, or open a recording.")];
  // A saved run (a recording opened, the offline report) has no "now": its figures are the run's.
  const parts: (Node | string)[] = [el("span", { class: `state state-${status.state}` }, status.readOnly ? "Recorded run" : STATE_WORDS[status.state])];
  const add = (text: string, title?: string) => parts.push(el("span", { class: "part", title }, text));
  if (status.url) add(status.url);
  add(`${status.workers} worker${status.workers === 1 ? "" : "s"}`);
  add(`${formatCount(status.requests)} requests`);
  if (status.errors > 0) add(`${formatCount(status.errors)} errors`);
  if (!status.readOnly) add(`${formatMiB(status.totalRssMiB)} RSS now`, "The workers' RSS together");
  add(status.python, `Interpreter: ${status.pythonWhy}`);
  return parts;
}
