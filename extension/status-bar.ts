// The status bar item: what the current session is doing (running · workers · total memory);
// a click opens the panel.
import * as vscode from "vscode";
import type { SessionStatus } from "../profiler/protocol";

export function statusText(status: SessionStatus): string {
  switch (status.state) {
    case "starting":
      return "$(loading~spin) Balloon: starting";
    case "running":
      return `$(pulse) Balloon: running · ${status.workers} worker${status.workers === 1 ? "" : "s"} · ${status.totalRssMiB.toFixed(1)} MiB`;
    case "stopping":
      return "$(loading~spin) Balloon: stopping";
    case "stopped":
      return `$(graph) Balloon: ${status.readOnly ? "recording" : "stopped"} · ${status.requests} requests`;
    case "failed":
      return "$(error) Balloon: failed";
  }
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("balloon.status", vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = "Balloon";
    this.item.command = "balloon.showPanel";
  }

  show(status: SessionStatus | null): void {
    if (!status) {
      this.item.hide();
      return;
    }
    this.item.text = statusText(status);
    this.item.tooltip = status.url ? `${status.url} — ${status.python} (${status.pythonWhy}); click for the panel` : "Balloon: click for the panel";
    this.item.backgroundColor = status.state === "failed" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
