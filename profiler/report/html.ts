// The offline HTML report (balloon report --html): one self-contained file, the panel's own views
// (dist/report/report.js, bundled with chart.js and its plugins) fed the messages the extension
// would send, embedded as JSON. Nothing is fetched: the page's CSP allows its one inline script
// and style (by hash) and data: images, no network at all. Pure: the caller reads the assets.
import { createHash } from "node:crypto";
import type { ToWebview } from "../protocol";
import { HTML_REPORT_MARK } from "../record/output-file";

export interface ReportAssets {
  /** The report page's script (dist/report/report.js). */
  script: string;
  /** Its styles, theme variables included (dist/report/report-style.css). */
  style: string;
}


const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** JSON inside <script>: "<" escaped so no "</script>" or "<!--" in a route or reason can end the element. */
function embeddedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

const escapeHtml = (text: string): string => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function htmlReport(title: string, messages: readonly ToWebview[], assets: ReportAssets, generatedAt: string): string {
  // The asset text goes in verbatim; a "</" in it would end its element early.
  if (/<\/script/i.test(assets.script) || /<\/style/i.test(assets.style)) throw new Error("a report asset holds a closing tag");
  const csp = `default-src 'none'; img-src data:; font-src data:; style-src ${sha256(assets.style)}; script-src ${sha256(assets.script)}`;
  // The title's "--" cannot end the comment early: escapeHtml leaves it, so it is spaced out.
  return `${HTML_REPORT_MARK}, written ${escapeHtml(generatedAt)} by balloon report --html: ${escapeHtml(title).replace(/--/g, "- -")}; it works offline, from this one file. -->
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="Balloon">
<title>${escapeHtml(title)}</title>
<style>${assets.style}</style>
</head>
<body>
<div id="app"></div>
<script type="application/json" id="balloon-data">${embeddedJson(messages)}</script>
<script>${assets.script}</script>
</body>
</html>
`;
}
