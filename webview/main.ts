// Placeholder until the webview branch lands (it replaces this file): the panel's message loop,
// a plain canvas line per worker and the route table, enough for the extension's own tests.
/// <reference lib="dom" />
import type { FromWebview, PoolEvent, SamplePoint, SessionStatus, ToWebview } from "../profiler/protocol";
import type { Report } from "../profiler/record/model";

declare function acquireVsCodeApi(): { postMessage(message: FromWebview): void };
const vscode = acquireVsCodeApi();

let samples: SamplePoint[] = [];
let events: PoolEvent[] = [];

function css(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function drawTimeline(): void {
  const canvas = document.getElementById("timeline") as HTMLCanvasElement;
  const g = canvas.getContext("2d");
  if (!g) return;
  g.fillStyle = css("--vscode-editor-background", "#1e1e1e");
  g.fillRect(0, 0, canvas.width, canvas.height);
  if (samples.length === 0) return;
  const t0 = samples[0].t;
  const t1 = Math.max(t0 + 1, samples[samples.length - 1].t);
  const top = Math.max(...samples.map((s) => s.rssKiB)) * 1.1;
  const x = (t: number): number => 10 + ((t - t0) / (t1 - t0)) * (canvas.width - 20);
  const y = (kib: number): number => canvas.height - 10 - (kib / top) * (canvas.height - 20);
  const colours = [css("--vscode-charts-blue", "#3794ff"), css("--vscode-charts-orange", "#d18616"), css("--vscode-charts-green", "#89d185"), css("--vscode-charts-purple", "#b180d7")];
  const byWorker = new Map<string, SamplePoint[]>();
  for (const s of samples) byWorker.set(`${s.worker}:${s.pid}`, [...(byWorker.get(`${s.worker}:${s.pid}`) ?? []), s]);
  g.lineWidth = 2;
  for (const points of byWorker.values()) {
    g.strokeStyle = colours[points[0].worker % colours.length];
    g.beginPath();
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(p.t), y(p.rssKiB)) : g.lineTo(x(p.t), y(p.rssKiB))));
    g.stroke();
  }
  g.fillStyle = css("--vscode-charts-red", "#f14c4c");
  for (const e of events) if (e.kind !== "ready" && e.t >= t0) g.fillRect(x(e.t) - 1, 0, 2, canvas.height);
}

function showStatus(status: SessionStatus): void {
  (document.getElementById("status") as HTMLElement).textContent =
    `Balloon: ${status.state} · ${status.workers} workers · ${status.totalRssMiB.toFixed(1)} MiB · ${status.requests} requests${status.url ? ` · ${status.url}` : ""}`;
}

function showReport(report: Report): void {
  const body = document.querySelector("#routes tbody") as HTMLElement;
  body.replaceChildren(...report.routes.map((route) => {
    const row = document.createElement("tr");
    const cells = [`${route.method} ${route.route}`, route.flags.join(", "), String(route.peakMiB.max), String(route.retainedMiB.first), String(route.requests)];
    for (const text of cells) row.appendChild(document.createElement("td")).textContent = text;
    const handler = row.appendChild(document.createElement("td"));
    if (route.handler) {
      const link = handler.appendChild(document.createElement("a"));
      const { file, line } = route.handler;
      link.textContent = `${route.handler.qualname} (${file}:${line})`;
      link.href = "#";
      link.addEventListener("click", () => vscode.postMessage({ type: "openHandler", file, line }));
    }
    if (route.flags.length > 0) row.className = "flagged";
    return row;
  }));
}

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
  const message = event.data;
  if (message.type === "status") showStatus(message.status);
  else if (message.type === "timelineReset") [samples, events] = [message.batch.samples, message.batch.events];
  else if (message.type === "timeline") [samples, events] = [samples.concat(message.batch.samples), events.concat(message.batch.events)];
  else if (message.type === "report") showReport(message.report);
  if (message.type === "timeline" || message.type === "timelineReset") drawTimeline();
});
vscode.postMessage({ type: "ready" });
