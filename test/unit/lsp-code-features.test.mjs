// The reports placed on the code (profiler/lsp/code-features.ts) with a recording output: warnings
// published per file and cleared where none is left, the severity setting, ranges that fit an
// open document, lenses and hovers from the last reports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TextDocument } from "vscode-languageserver-textdocument";
import { CodeFeatures, codeSettingsOf, uriOfPath } from "../../out/test-build/lsp/code-features.js";

const inflates = { flag: "inflates", reason: "first call keeps 20 MiB", atStakeMiB: 40, figures: { stepMiB: 20.4, workers: 2, allowanceMiB: 1, repeats: 10, repeatRetainedMedianMiB: 0 } };
const route = (name, line, flagged) => ({
  route: name, method: "GET", handler: { qualname: `app.${name.slice(1)}`, file: "app.py", line }, requests: 12, errors: 0,
  peakMiB: { median: 0, max: 20.7 }, retainedMiB: { first: 20.7, perRequest: 0 }, durationMs: { median: 1, max: 2 },
  flags: flagged ? ["inflates"] : [], reasons: [], verdicts: flagged ? [inflates] : [], shared: 0, extra: 0, samplePaths: [],
});
/** A shown report: a stopped run's unless said (a running one's lenses also offer a deep dive). */
const report = (...routes) => ({ report: { app: { cwd: "/srv/shop" }, routes }, sessionId: "s1", running: false });
const running = (shown) => ({ ...shown, running: true });
const APP = uriOfPath("/srv/shop/app.py");

function recorder(documents = {}) {
  const out = { published: [], refreshes: 0 };
  out.output = { publishDiagnostics: (uri, diagnostics) => out.published.push({ uri, diagnostics }), refreshLenses: () => out.refreshes++, document: (uri) => documents[uri] };
  return out;
}

test("code: a warning per flagged route, at its handler's line, severity from the settings", () => {
  const out = recorder();
  const code = new CodeFeatures(out.output);
  code.settings = codeSettingsOf({ diagnostics: { severity: "error" } });
  code.show([report(route("/export", 21, true), route("/hello", 16, false))]);
  assert.equal(out.published.length, 1);
  const [{ uri, diagnostics }] = out.published;
  assert.equal(uri, APP);
  assert.equal(diagnostics.length, 1);
  assert.deepEqual([diagnostics[0].range.start, diagnostics[0].severity, diagnostics[0].source, diagnostics[0].code], [{ line: 20, character: 0 }, 1, "balloon", "inflates"]);
  assert.equal(diagnostics[0].message, "GET /export inflates each worker by 20 MiB; peak 21 MiB over 12 calls");
  assert.equal(out.refreshes, 1);
});

test("code: a file with no warning left is cleared; no report clears everything", () => {
  const out = recorder();
  const code = new CodeFeatures(out.output);
  code.show([report(route("/export", 21, true))]);
  code.show([report(route("/export", 21, false))]);
  assert.deepEqual(out.published.at(-1), { uri: APP, diagnostics: [] });
  code.show([report(route("/export", 21, true))]);
  code.show([]);
  assert.deepEqual(out.published.at(-1), { uri: APP, diagnostics: [] });
  assert.deepEqual(code.codeLenses(APP), []);
  assert.equal(code.hover(APP, 20), null);
});

test("code: lenses for every observed handler, a hover on its line only, nothing for other files", () => {
  const code = new CodeFeatures(recorder().output);
  code.show([report(route("/export", 21, true), route("/hello", 16, false))]);
  assert.deepEqual(code.codeLenses(APP).map((lens) => [lens.range.start.line, lens.command.title]), [
    [20, "peak 21 MiB · retained 21 MiB · 12 calls · inflates"],
    [15, "peak 21 MiB · retained 21 MiB · 12 calls"],
  ]);
  assert.match(code.hover(APP, 20).contents.value, /`GET \/export` — `app\.export`/);
  assert.equal(code.hover(APP, 19), null);
  assert.deepEqual(code.codeLenses(uriOfPath("/srv/shop/other.py")), []);
  assert.deepEqual(code.codeLenses("untitled:Untitled-1"), []);
});

test("code: a running app's handlers also get Deep dive, on the same line, after the figures", () => {
  const code = new CodeFeatures(recorder().output);
  code.show([running(report(route("/export", 21, true)))]);
  assert.deepEqual(code.codeLenses(APP).map((lens) => [lens.range.start.line, lens.command.title, lens.command.command, lens.command.arguments]), [
    [20, "peak 21 MiB · retained 21 MiB · 12 calls · inflates", "balloon.showPanel", []],
    [20, "Deep dive", "balloon.deepDive", [{ sessionId: "s1", method: "GET", route: "/export" }]],
  ]);
});

test("code: an open document gets a range over the def line's text, without its indentation", () => {
  const lines = Array.from({ length: 30 }, (_, i) => (i === 20 ? "    def export(self):" : "x = 1"));
  const out = recorder({ [APP]: TextDocument.create(APP, "python", 1, lines.join("\n")) });
  const code = new CodeFeatures(out.output);
  code.show([report(route("/export", 21, true))]);
  code.opened(APP);
  assert.deepEqual(out.published.at(-1).diagnostics[0].range, { start: { line: 20, character: 4 }, end: { line: 20, character: 21 } });
});

test("code: the client's settings, whatever they hold, as defaults where they are wrong", () => {
  assert.deepEqual(codeSettingsOf(null), { severity: "warning", keepResultsAfterStop: true });
  assert.deepEqual(codeSettingsOf({ diagnostics: { severity: "hint" }, keepResultsAfterStop: false }), { severity: "hint", keepResultsAfterStop: false });
  assert.deepEqual(codeSettingsOf({ diagnostics: { severity: "loud" }, keepResultsAfterStop: "no" }), { severity: "warning", keepResultsAfterStop: true });
});
