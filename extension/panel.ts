// The Balloon panel: a webview owning its disposables (vscode-extension-samples' webview-sample
// shape). A fresh nonce per load, a strict CSP (webview/html.ts writes it), scripts and styles
// only from the extension's dist/webview. retainContextWhenHidden stays false: a hidden panel
// costs nothing, and when it is shown again the webview says "ready" and gets everything anew
// (it keeps its own view state with setState). Messages are protocol.ts's ToWebview/FromWebview.
import { randomBytes } from "node:crypto";
import * as vscode from "vscode";
import { Method, type DeepDiveCommandArgs, type FromWebview, type PanelTab, type ToWebview } from "../profiler/protocol";
import { panelHtml } from "../webview/html";
import type { Ctx } from "./ctx";
import { openAppLine } from "./open-line";

export const PANEL_VIEW_TYPE = "balloon.panel";

export class BalloonPanel implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;
  private isDisposed = false;
  /** The page said "ready" and has not been hidden since (a hidden webview's page is discarded). */
  private loaded = false;
  /** A tab to show once the page (re)loads: a message posted before it listens is lost. */
  private tabOnLoad: PanelTab | null = null;

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly ctx: Ctx) {
    this.panel.webview.html = this.html();
    this.disposables.push(
      this.panel.onDidDispose(() => this.dispose()),
      this.panel.onDidChangeViewState(() => {
        if (!this.panel.visible) this.loaded = false;
      }),
      this.panel.webview.onDidReceiveMessage((message: FromWebview) => void this.onMessage(message)),
    );
  }

  static create(ctx: Ctx, preserveFocus: boolean): BalloonPanel {
    const media = vscode.Uri.joinPath(ctx.extension.extensionUri, "dist", "webview");
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, "Balloon", { viewColumn: vscode.ViewColumn.Beside, preserveFocus }, {
      enableScripts: true,
      localResourceRoots: [media],
      retainContextWhenHidden: false,
    });
    return new BalloonPanel(panel, ctx);
  }

  reveal(preserveFocus: boolean): void {
    this.panel.reveal(undefined, preserveFocus);
  }

  post(message: ToWebview): void {
    void this.panel.webview.postMessage(message);
  }

  /** Shows a tab now, or once the page has loaded. */
  showTab(tab: PanelTab): void {
    if (this.loaded) this.post({ type: "showTab", tab });
    else this.tabOnLoad = tab;
  }

  /** Everything the panel shows, again (it follows another session now). */
  refresh(): Promise<void> {
    return this.sendAll();
  }

  /** The page as loaded now (tests check its CSP). */
  get htmlNow(): string {
    return this.panel.webview.html;
  }

  private html(): string {
    const webview = this.panel.webview;
    const media = vscode.Uri.joinPath(this.ctx.extension.extensionUri, "dist", "webview");
    return panelHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString("base64"),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, "main.js")).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, "style.css")).toString(),
    });
  }

  private async onMessage(message: FromWebview): Promise<void> {
    try {
      switch (message.type) {
        case "ready":
          this.loaded = true;
          await this.sendAll();
          if (this.tabOnLoad) this.post({ type: "showTab", tab: this.tabOnLoad });
          this.tabOnLoad = null;
          return;
        case "openHandler":
          return await openAppLine(this.ctx, this.ctx.current?.sessionId ?? null, message.file, message.line);
        case "recommend": {
          const session = this.ctx.current;
          if (!session) return;
          const recommendation = await this.ctx.request(Method.recommend, { sessionId: session.sessionId, budgetMiB: message.budgetMiB });
          return this.post({ type: "recommendation", recommendation });
        }
        case "export":
          await vscode.commands.executeCommand("balloon.exportSettings", message.format);
          return;
        case "deepDive": {
          const args: DeepDiveCommandArgs = { method: message.method, route: message.route, ...(this.ctx.current ? { sessionId: this.ctx.current.sessionId } : {}) };
          await vscode.commands.executeCommand("balloon.deepDive", args);
          return;
        }
      }
    } catch (error) {
      this.post({ type: "error", message: (error as Error).message });
    }
  }

  /** Everything the panel shows, for a webview that (re)loaded. */
  private async sendAll(): Promise<void> {
    this.post({ type: "deepDiveRunning", running: this.ctx.deepDiveRunning });
    const session = this.ctx.current;
    if (!session) return;
    this.post({ type: "status", status: session });
    const [timeline, report] = await Promise.all([
      this.ctx.request(Method.samples, { sessionId: session.sessionId }),
      this.ctx.request(Method.routes, { sessionId: session.sessionId }),
    ]);
    this.post({ type: "timelineReset", batch: timeline });
    this.post({ type: "report", report });
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    this.disposed.fire();
    this.disposed.dispose();
    this.panel.dispose();
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }
}
