// The Deep dive tab: the lines that allocated during one route's calls under tracemalloc, by
// peak or by retained as the route's flag asks, each going to its line; the lines that grew on
// every repeat; what lay outside the app.
import { DEEP_COLUMNS, deepHeading, deepNotes, deepRows, deepRunningWords, deepSummary, growthLines, type DeepDive } from "../deep-words";
import type { State } from "../state";
import { spinner } from "../toolkit";
import { el, replaceChildren } from "./dom";
import type { View, ViewContext } from "./view";

export function deepDiveView(context: ViewContext): View {
  // A dive under way shows above the last one's lines (which stay until the new ones come).
  const runningWords = el("span");
  const running = el("p", { class: "pending deep-running", attrs: { role: "status" } }, spinner(), runningWords);
  running.hidden = true;
  const content = el("div");
  const element = el("div", { class: "deep-view" }, running, content);
  let shown: DeepDive | null | undefined;

  const lineLink = (file: string, line: number, label: string): HTMLElement =>
    context.offline
      ? el("code", { title: `${file}:${line}` }, label)
      : el("button", { class: "link", title: `${file}:${line}`, on: { click: () => context.send({ type: "openHandler", file, line }) } }, label);

  const render = (dive: DeepDive | null) => {
    if (!dive) {
      const how = context.offline ? "balloon profile --deep ROUTE adds one to the recording" : "run one from a handler's code lens (Deep dive) or the Balloon: Deep Dive command";
      replaceChildren(content, el("p", { class: "empty" }, `No deep dive in this run: ${how}.`));
      return;
    }
    const rows = deepRows(dive);
    const table = el(
      "table",
      { class: "deep-sites" },
      el("thead", {}, el("tr", {}, ...DEEP_COLUMNS.map((title, index) => el("th", { class: index >= 2 ? "num" : "" }, title)))),
      el("tbody", {}, ...rows.map((row) => el("tr", { attrs: { "data-site": `${row.file}:${row.line}` } },
        el("td", {}, lineLink(row.file, row.line, row.label)),
        el("td", {}, el("code", { class: "code-line" }, row.cells[0])),
        ...row.cells.slice(1).map((cell) => el("td", { class: "num" }, cell)),
      ))),
    );
    const growth = growthLines(dive);
    replaceChildren(
      content,
      el("h2", {}, deepHeading(dive)),
      el("p", { class: "muted" }, deepSummary(dive)),
      rows.length > 0 ? el("div", { class: "table-scroll" }, table) : el("p", { class: "empty" }, "No line of the app held 1 KiB or more during these calls."),
      growth.length > 0 && el("section", {}, el("h3", {}, "Growth per call over the repeats"),
        el("ul", { class: "growth" }, ...growth.map((item) => el("li", {}, lineLink(item.file, item.line, item.label), " ", item.words)))),
      ...deepNotes(dive).map((note) => el("p", { class: "muted" }, note)),
    );
  };

  return {
    element,
    update(state: State) {
      running.hidden = state.deepDiveRunning === null;
      if (state.deepDiveRunning) runningWords.textContent = deepRunningWords(state.deepDiveRunning);
      const dive = state.report?.deepDive ?? null;
      if (dive === shown) return;
      shown = dive;
      render(dive);
    },
  };
}
