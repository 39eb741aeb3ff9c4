// The webview's entry: VS Code's API is used here and nowhere else. Messages from the extension
// and the user's actions go through the reducer; the panel redraws once per frame; the UI choices
// are kept with setState so a hidden or reloaded panel comes back on the same tab and sort, and
// "ready" asks the extension for the data again (it answers with a timelineReset and the rest).
import type { FromWebview } from "../profiler/protocol";
import { frameCoalescer } from "./frames";
import { initialState, isToWebview, reduce, savedState, type Action } from "./state";
import { currentPalette, watchTheme } from "./theme";
import { mountApp } from "./views/app";

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
let state = reduce(initialState(), { type: "ui/restore", saved: vscode.getState() });
let paletteStale = false;

const requestDraw = frameCoalescer(() => {
  if (paletteStale) {
    paletteStale = false;
    app.setPalette(currentPalette());
  }
  app.render(state);
}, (callback) => requestAnimationFrame(callback));

function dispatch(action: Action): void {
  const next = reduce(state, action);
  if (next === state) return;
  if (next.ui !== state.ui) vscode.setState(savedState(next));
  state = next;
  requestDraw();
}

const root = document.getElementById("app");
if (!root) throw new Error("the panel's page has no #app element");
const app = mountApp(root, { send: (message) => vscode.postMessage(message), dispatch }, currentPalette());

window.addEventListener("message", (event: MessageEvent<unknown>) => {
  if (isToWebview(event.data)) dispatch(event.data);
});
watchTheme(() => {
  paletteStale = true;
  requestDraw();
});
app.render(state);
vscode.postMessage({ type: "ready" });
