// The webview panel in headless Chromium, outside VS Code: a local server gives dist/webview under
// the panel's own CSP (as a response header, and the page's meta from panelHtml), with a fake
// acquireVsCodeApi (harness.js, a nonce'd script file) and VS Code-like theme variables. Used by
// test/integration/webview.test.mjs and test/bench/webview.mjs.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const { panelCsp, panelHtml } = createRequire(import.meta.url)(join(root, "out/test-build/webview/html.js"));
const { chromium } = createRequire(import.meta.url)("playwright-core");

const FILES = { "/webview/": join(root, "dist/webview"), "/harness/": fileURLToPath(new URL("webview-harness", import.meta.url)) };
const THEME_CSS = join(root, "webview/theme.css");
const TYPES = { ".js": "text/javascript", ".css": "text/css", ".map": "application/json", ".woff2": "font/woff2", ".ttf": "font/ttf", ".png": "image/png", ".svg": "image/svg+xml" };

/** Serves the panel at "/"; each page load gets a fresh nonce, as VS Code's panel does. */
export async function startPanelServer({ theme = "vscode-dark" } = {}) {
  const requests = [];
  const server = createServer((request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    requests.push(path);
    if (path === "/") {
      const origin = `http://${request.headers.host}`;
      const nonce = randomBytes(16).toString("base64");
      const html = panelHtml({ cspSource: origin, nonce, scriptUri: `${origin}/webview/main.js`, styleUri: `${origin}/webview/style.css` })
        .replace("</head>", `  <link rel="stylesheet" href="/harness/theme.css">\n  <script nonce="${nonce}" src="/harness/harness.js"></script>\n</head>`)
        .replace("<body>", `<body class="${theme}" data-vscode-theme-kind="${theme}">`);
      response.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": panelCsp({ cspSource: origin, nonce }), "cache-control": "no-store" });
      response.end(html);
      return;
    }
    const prefix = Object.keys(FILES).find((candidate) => path.startsWith(candidate));
    // The theme variables are the product's own (webview/theme.css, which the offline report inlines).
    const file = path === "/harness/theme.css" ? THEME_CSS : prefix && normalize(join(FILES[prefix], path.slice(prefix.length)));
    if (!file || (file !== THEME_CSS && !file.startsWith(FILES[prefix]))) return notFound(response);
    try {
      const body = readFileSync(file);
      response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "x-content-type-options": "nosniff", "cache-control": "no-store" });
      response.end(body);
    } catch {
      notFound(response);
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

function notFound(response) {
  response.writeHead(404, { "content-type": "text/plain" });
  response.end("not found");
}

/** Debian's Chromium, headless, without its calls home. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-breakpad"],
  });
}

/**
 * A page on the panel with every problem recorded: console errors and warnings, page errors,
 * requests that left the local server (aborted). Resolves once the panel has posted "ready".
 */
/** Aborts every request `allowed` refuses; returns the list of those URLs (a page that reaches out fails its test). */
export async function keepToOwnUrls(context, allowed) {
  const outside = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (allowed(url)) return route.continue();
    outside.push(url);
    return route.abort();
  });
  return outside;
}

/** The page's console errors and warnings and its uncaught errors, as they come. */
export function consoleProblems(page) {
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));
  return problems;
}

export async function openPanel(browser, server, { width = 1200, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1 });
  const outside = await keepToOwnUrls(context, (url) => url.startsWith(`${server.origin}/`));
  const page = await context.newPage();
  const console = consoleProblems(page);
  const load = async () => {
    await page.goto(`${server.origin}/`);
    await page.waitForFunction(() => window.__harness.posted.some((message) => message.type === "ready"));
  };
  await load();
  return {
    page,
    reload: load,
    send: (message) => page.evaluate((m) => window.__harness.send(m), message),
    /** Posts and waits for `chart` ("timeline" or "routes") to draw; returns the timings and what it drew. */
    timed: (message, chart) => page.evaluate(([m, c]) => window.__harness.timeMessage(m, c), [message, chart]),
    /** Posts a timeline built in the page (see harness.js makeTimeline) and times its drawing. */
    timedTimeline: (type, options) => page.evaluate(([t, o]) => window.__harness.timeMessage({ type: t, batch: window.__harness.makeTimeline(o) }, "timeline"), [type, options]),
    posted: () => page.evaluate(() => window.__harness.posted),
    /** Resolves after the panel's next drawing frame (it redraws in requestAnimationFrame). */
    frame: () => page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))),
    problems: async () => ({ console: [...console], outside: [...outside], ...(await page.evaluate(() => ({ violations: window.__harness.violations, errors: window.__harness.errors }))) }),
    close: () => context.close(),
  };
}
