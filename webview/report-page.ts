// The offline HTML report's entry (balloon report --html): the panel's own views in a plain
// page, fed once from the data the file carries (<script type="application/json" id="balloon-data">:
// the messages the extension would send). Nobody answers, so the views run offline; the
// colours follow the reader's light or dark preference (prefers-color-scheme).
import type { ToWebview } from "../profiler/protocol";
import { frameCoalescer } from "./frames";
import { initialState, isToWebview, reduce, type Action } from "./state";
import { currentPalette } from "./theme";
import { mountApp } from "./views/app";

const dark = window.matchMedia("(prefers-color-scheme: dark)");

/** VS Code's theme class on the body: webview/theme.css keys its variables on it. */
function applyScheme(): void {
  document.body.classList.toggle("vscode-dark", dark.matches);
  document.body.classList.toggle("vscode-light", !dark.matches);
}

function embeddedMessages(): ToWebview[] {
  const text = document.getElementById("balloon-data")?.textContent ?? "[]";
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter(isToWebview) : [];
}

applyScheme();
let state = initialState();
const root = document.getElementById("app");
if (!root) throw new Error("the report's page has no #app element");
const requestDraw = frameCoalescer(() => app.render(state), (callback) => requestAnimationFrame(callback));
const dispatch = (action: Action): void => {
  const next = reduce(state, action);
  if (next === state) return;
  state = next;
  requestDraw();
};
root.before(Object.assign(document.createElement("h1"), { textContent: document.title, className: "report-title" }));
const app = mountApp(root, { send: () => undefined, dispatch, offline: true }, currentPalette());
for (const message of embeddedMessages()) dispatch(message);
dark.addEventListener("change", () => {
  applyScheme();
  app.setPalette(currentPalette());
  app.render(state);
});
app.render(state);
