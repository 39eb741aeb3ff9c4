// The Recommendations tab: a budget to ask for, the settings with the reason for each, the
// what-if replay of the alternatives, and a button per server to export them.
import type { Recommendation } from "../model";
import { EXPORT_FORMATS, parseBudget, predictionWords, settingLines, summaryWords, WHAT_IF_COLUMNS, whatIfRows } from "../recommend-words";
import type { State } from "../state";
import { button, spinner, textField } from "../toolkit";
import { el, replaceChildren } from "./dom";
import type { View, ViewContext } from "./view";

export function recommendationsView(context: ViewContext): View {
  const budgetError = el("span", { class: "field-error", attrs: { role: "alert" } });
  const ask = () => {
    const input = parseBudget(budget.value());
    budgetError.textContent = input.ok ? "" : input.error;
    if (!input.ok) return;
    context.dispatch({ type: "ui/requestRecommendation", budgetMiB: input.budgetMiB });
    context.send(input.budgetMiB === null ? { type: "recommend" } : { type: "recommend", budgetMiB: input.budgetMiB });
  };
  const budget = textField({ label: "Memory budget (MiB)", placeholder: "default: 75% of memory", name: "budget", onEnter: ask });
  const pending = el("span", { class: "pending" }, spinner(), "replaying the traffic…");
  // Offline nobody answers a request: no controls at all.
  const controls = context.offline ? null : el("div", { class: "toolbar with-field" }, budget.element, button("Recommend", ask, { appearance: "primary", name: "recommend" }), pending, budgetError);
  const content = el("div", { class: "recommendation" });
  const element = el("div", { class: "recommendations-view" }, controls, content);
  let shown: Recommendation | null | undefined;
  let budgetShown: number | null | undefined;

  return {
    element,
    update(state: State) {
      pending.hidden = !state.recommendPending;
      // The field shows what was asked for last, else the budget the recommendation used.
      const budgetMiB = state.ui.budgetMiB ?? state.recommendation?.budgetMiB ?? null;
      if (budgetMiB !== budgetShown) {
        budgetShown = budgetMiB;
        budget.setValue(budgetMiB === null ? "" : String(budgetMiB));
      }
      if (state.recommendation === shown) return;
      shown = state.recommendation;
      if (!shown) replaceChildren(content, el("p", { class: "empty" }, "No recommendation yet: send traffic to the app, then press Recommend."));
      else replaceChildren(content, ...recommendationParts(shown, context));
    },
  };
}

function recommendationParts(recommendation: Recommendation, context: ViewContext): (HTMLElement | null)[] {
  const settings = el(
    "table",
    { class: "settings" },
    el("thead", {}, el("tr", {}, el("th", {}, "Setting"), el("th", { class: "num" }, "Value"), el("th", {}, "Why"))),
    el("tbody", {}, ...settingLines(recommendation).map((line) => el("tr", { attrs: { "data-setting": line.name } }, el("td", {}, line.title), el("td", { class: "num value" }, line.value), el("td", { class: "reason" }, line.reason)))),
  );
  const whatIf = el(
    "table",
    { class: "what-if" },
    el("thead", {}, el("tr", {}, ...WHAT_IF_COLUMNS.map((title, index) => el("th", { class: index === 0 ? "" : "num" }, title)))),
    el(
      "tbody",
      {},
      ...whatIfRows(recommendation).map((row) =>
        el("tr", { class: `${row.recommended ? "recommended" : ""}${row.fits ? "" : " misfit"}` }, ...row.cells.map((cell, index) => el("td", { class: index === 0 ? "" : "num" }, cell))),
      ),
    ),
  );
  const exports = context.offline
    ? el("p", { class: "muted" }, "Export them for your server with the recording: ", el("code", {}, `balloon recommend ${recommendation.source.file || "RECORDING"} --memory-budget ${recommendation.budgetMiB} --format ${EXPORT_FORMATS.map(({ format }) => format).join("|")}`))
    : el("div", { class: "exports" }, ...EXPORT_FORMATS.map(({ format, label }, index) =>
      button(label, () => context.send({ type: "export", format }), { appearance: index === 0 ? "primary" : "secondary", name: `export-${format}`, title: `Export these settings for ${label}` }),
    ));
  return [
    el("h2", { class: recommendation.fits ? "fits" : "misfit" }, summaryWords(recommendation)),
    el("p", { class: "muted" }, predictionWords(recommendation)),
    recommendation.warnings.length > 0 ? el("ul", { class: "warnings" }, ...recommendation.warnings.map((warning) => el("li", {}, warning))) : null,
    el("section", {}, el("h3", {}, "Settings"), settings),
    el("section", {}, el("h3", {}, "What if"), el("p", { class: "muted" }, "Each row replays the recorded traffic through the pool under those settings."), el("div", { class: "table-scroll" }, whatIf)),
    el("section", {}, el("h3", {}, "Export"), exports),
  ];
}
