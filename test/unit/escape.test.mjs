// Terminal-safe text: every control character a terminal acts on becomes a visible escape.
import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeControl, escapeControlInLines, escapeJsonText } from "../../out/test-build/report/escape.js";
import { formatReport } from "../../out/test-build/report/text.js";
import { toReportJson } from "../../out/test-build/report/json.js";
import { analyze } from "../../out/test-build/analysis/analyze.js";
import { Simulation } from "./helpers/recording.mjs";

const PWNED = "/env\u001b]0;PWNED\u0007\u001b[2J";

test("escapeControl: one line, every control character visible", () => {
  const cases = [
    ["plain text and unicode pass", "/users/<int:id> café ✓ 日本", "/users/<int:id> café ✓ 日本"],
    ["OSC title + BEL + clear screen", PWNED, "/env\\x1b]0;PWNED\\x07\\x1b[2J"],
    ["NUL, tab, newline, CR", "a\u0000b\tc\nd\re", "a\\x00b\\x09c\\x0ad\\x0de"],
    ["DEL", "x\u007fy", "x\\x7fy"],
    ["C1: one-character CSI and NEL", "\u009b31m\u0085", "\\x9b31m\\x85"],
    ["bidi override and isolates", "abc\u202egnp.exe\u2066\u2069\u202a", "abc\\u202egnp.exe\\u2066\\u2069\\u202a"],
    ["already escaped text is left as is", "\\x1b[2J", "\\x1b[2J"],
    ["empty", "", ""],
  ];
  for (const [name, input, expected] of cases) assert.equal(escapeControl(input), expected, name);
});

test("escapeControlInLines: newlines and tabs stay, CRLF becomes LF, the rest is escaped", () => {
  const cases = [
    ["a traceback keeps its lines", "Traceback:\n  File \"app.py\"\n\tx", "Traceback:\n  File \"app.py\"\n\tx"],
    ["CRLF", "one\r\ntwo\r\n", "one\ntwo\n"],
    ["a lone CR would overwrite the line", "safe\rEVIL", "safe\\x0dEVIL"],
    ["escapes inside log lines", `GET ${PWNED}\nnext`, "GET /env\\x1b]0;PWNED\\x07\\x1b[2J\nnext"],
    ["C1 and bidi", "\u009b2J\u202e", "\\x9b2J\\u202e"],
  ];
  for (const [name, input, expected] of cases) assert.equal(escapeControlInLines(input), expected, name);
});

test("escapeJsonText: the same data once parsed, no raw C1 or bidi characters", () => {
  const value = { path: `${PWNED}\u009b\u202e\u2028`, plain: "café" };
  const json = escapeJsonText(JSON.stringify(value));
  assert.deepEqual(JSON.parse(json), value);
  assert.doesNotMatch(json, /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  assert.match(json, /café/);
});

test("a route, handler and warning with escapes: the text report has none raw, the JSON report keeps the data", () => {
  const sim = new Simulation({ 1: 30 }).call(1, PWNED, { peak: 20 }).call(1, PWNED, { peak: 20 }).call(1, "/ok");
  const report = analyze(sim.lines, {}, ["line 9: invalid JSON (Unexpected token '\u001b')"]);
  report.routes[0].handler = { qualname: "x", file: "evil\u202e.py", line: 3 };
  const text = formatReport(report, { color: false });
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, "only newlines are raw");
  assert.match(text, /\/env\\x1b\]0;PWNED\\x07\\x1b\[2J/);
  assert.match(text, /evil\\u202e\.py:3/);
  const coloured = formatReport(report, { color: true });
  const escapes = coloured.match(/\u001b[^m]*m/g) ?? [];
  assert.ok(escapes.every((sequence) => /^\u001b\[\d+m$/.test(sequence)), `only our SGR colour codes: ${JSON.stringify(escapes)}`);
  const json = toReportJson(report);
  assert.equal(JSON.parse(json).routes.find((r) => r.route.startsWith("/env")).route, PWNED);
  assert.doesNotMatch(json, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
});
