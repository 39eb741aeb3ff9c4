// The extension's lifetime: the language client (start, restart, the server's crash), the
// output channels, the sessions the server reports, the status bar and the panel. Everything
// made here is disposed with it; disposing stops the client, and the server's shutdown stops
// every app and worker (Stop, window reload and deactivate all end here or in balloon.stop).
import { spawn, type ChildProcess } from "node:child_process";
import * as vscode from "vscode";
import { LanguageClient, State, type LanguageClientOptions, type RequestType, type ServerOptions } from "vscode-languageclient/node";
import { Method, type DeepDiveCallEnded, type DeepDiveRunning, type LogLine, type Requests, type SessionStatus, type ToWebview } from "../profiler/protocol";
import { SECTION, readConfig, type ConfigReading } from "./config";
import { BalloonPanel } from "./panel";
import { notificationType, requestType } from "./protocol-client";
import { StatusBar } from "./status-bar";

export class Ctx implements vscode.Disposable {
  readonly log = vscode.window.createOutputChannel("Balloon");
  private readonly serverLog = vscode.window.createOutputChannel("Balloon Language Server", { log: true });
  private readonly statusBar = new StatusBar();
  private readonly diveCalls = new vscode.EventEmitter<DeepDiveCallEnded>();
  /** A deep dive's call ended (the command's progress notification counts them). */
  readonly onDeepDiveCall = this.diveCalls.event;
  private readonly disposables: vscode.Disposable[] = [this.log, this.serverLog, this.statusBar, this.diveCalls];
  private client: LanguageClient | null = null;
  private serverProcess: ChildProcess | null = null;
  private readonly sessions = new Map<string, SessionStatus>();
  /** The session the panel and the status bar show: the last one run or opened. */
  private currentId: string | null = null;
  private panel: BalloonPanel | null = null;
  /** Failures already told (the server repeats a failed status on stop). */
  private readonly told = new Set<string>();
  private runningDive: DeepDiveRunning | null = null;

  constructor(readonly extension: vscode.ExtensionContext) {}

  config(): ConfigReading {
    const section = vscode.workspace.getConfiguration(SECTION);
    return readConfig((key) => section.get(key));
  }

  get current(): SessionStatus | null {
    return this.currentId ? this.sessions.get(this.currentId) ?? null : null;
  }

  get liveSessions(): SessionStatus[] {
    return [...this.sessions.values()].filter((s) => s.state === "starting" || s.state === "running");
  }

  /** A session whose app serves requests now (a deep dive needs one): that one if given, else the followed one, else any. */
  runningSession(sessionId?: string): SessionStatus | null {
    const running = [...this.sessions.values()].filter((s) => s.state === "running" && !s.readOnly);
    if (sessionId !== undefined) return running.find((s) => s.sessionId === sessionId) ?? null;
    return running.find((s) => s.sessionId === this.currentId) ?? running.at(-1) ?? null;
  }

  /** The deep dive the extension waits for (the panel's Deep dive tab says so while it runs). */
  get deepDiveRunning(): DeepDiveRunning | null {
    return this.runningDive;
  }

  set deepDiveRunning(running: DeepDiveRunning | null) {
    this.runningDive = running;
    this.panel?.post({ type: "deepDiveRunning", running });
  }

  /** The server's process id (tests kill it), null when it is not running. */
  get serverPid(): number | null {
    return this.serverProcess?.exitCode === null ? this.serverProcess.pid ?? null : null;
  }

  get clientState(): "starting" | "running" | "stopped" {
    const state = this.client?.state;
    return state === State.Running ? "running" : state === State.Starting ? "starting" : "stopped";
  }

  async start(): Promise<void> {
    const cli = vscode.Uri.joinPath(this.extension.extensionUri, "dist", "cli.js").fsPath;
    // The server runs on the extension host's Node (code-server's Node, or Electron as Node).
    const serverOptions: ServerOptions = async () => {
      const child = spawn(process.execPath, [cli, "lsp", "--stdio"], { env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" } });
      this.serverProcess = child;
      return child;
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: "file", language: "python" }],
      outputChannel: this.serverLog,
      synchronize: { configurationSection: SECTION },
    };
    const client = new LanguageClient("balloon", "Balloon Language Server", serverOptions, clientOptions);
    this.client = client;
    client.onNotification(notificationType(Method.statusChanged), (status) => this.onStatus(status));
    client.onNotification(notificationType(Method.timeline), (batch) => this.forCurrent(batch.sessionId, { type: "timeline", batch }));
    client.onNotification(notificationType(Method.reportChanged), (changed) => this.forCurrent(changed.sessionId, { type: "report", report: changed.report }));
    client.onNotification(notificationType(Method.log), (line) => this.onLog(line));
    client.onNotification(notificationType(Method.deepDiveCall), (ended) => this.diveCalls.fire(ended));
    client.onDidChangeState((change) => {
      // A server that died took its apps with it (their master's parent-death signal).
      if (change.newState === State.Running && this.sessions.size > 0) this.serverRestarted();
    });
    await client.start();
  }

  /** Stops the server (its apps with it) and starts a new one. */
  async restart(): Promise<void> {
    await this.stopClient();
    this.forgetSessions();
    await this.start();
  }

  async request<M extends keyof Requests>(method: M, params: Requests[M]["params"]): Promise<Requests[M]["result"]> {
    if (!this.client || this.client.state !== State.Running) await this.client?.start();
    if (!this.client) throw new Error("Balloon's language server is not running");
    // Widened for the call only (TypeScript cannot pick sendRequest's overload for a generic M); the signature stays typed.
    const type = requestType(method) as RequestType<unknown, unknown, void>;
    return (await this.client.sendRequest(type, params)) as Requests[M]["result"];
  }

  /** A session the user started or opened: the panel and the status bar follow it. */
  follow(status: SessionStatus): void {
    this.sessions.set(status.sessionId, status);
    this.currentId = status.sessionId;
    this.statusBar.show(status);
    this.panel?.post({ type: "status", status });
  }

  showPanel(preserveFocus = false): BalloonPanel {
    if (this.panel) {
      this.panel.reveal(preserveFocus);
      return this.panel;
    }
    this.panel = BalloonPanel.create(this, preserveFocus);
    this.panel.onDidDispose(() => (this.panel = null));
    return this.panel;
  }

  get panelIfOpen(): BalloonPanel | null {
    return this.panel;
  }

  private onStatus(status: SessionStatus): void {
    const known = this.sessions.has(status.sessionId);
    this.sessions.set(status.sessionId, status);
    if (!known && this.currentId === null) this.currentId = status.sessionId;
    if (status.sessionId !== this.currentId) return;
    this.statusBar.show(status);
    this.panel?.post({ type: "status", status });
    if (status.failure && !this.told.has(status.sessionId)) {
      this.told.add(status.sessionId);
      void this.tellFailure(status.failure);
    }
  }

  private forCurrent(sessionId: string, message: ToWebview): void {
    if (sessionId === this.currentId) this.panel?.post(message);
  }

  private onLog(line: LogLine): void {
    for (const text of line.message.split("\n")) this.log.appendLine(`[${line.source}]${line.level === "info" ? "" : ` ${line.level}:`} ${text}`);
  }

  /** An import error and the like: the message, with the traceback one click away in the output channel. */
  private async tellFailure(failure: NonNullable<SessionStatus["failure"]>): Promise<void> {
    const firstLine = failure.message.split("\n")[0];
    const actions = failure.traceback ? ["Show traceback"] : ["Show log"];
    const picked = await vscode.window.showErrorMessage(`Balloon: ${firstLine}`, ...actions);
    if (!picked) return;
    if (failure.traceback) this.log.appendLine(`\n${failure.message}\n${failure.traceback.trimEnd()}`);
    this.log.show(true);
  }

  private serverRestarted(): void {
    const hadLive = this.liveSessions.length > 0;
    this.forgetSessions();
    if (hadLive) void vscode.window.showWarningMessage("Balloon's language server restarted: the app it was running has stopped. Run it again with \"Run App with Balloon\".");
  }

  private forgetSessions(): void {
    this.sessions.clear();
    this.currentId = null;
    this.statusBar.show(null);
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = null;
    // stop() sends shutdown (the server stops every session) and exit.
    if (client && client.state !== State.Stopped) await client.stop(15_000).catch(() => undefined);
    if (this.serverProcess?.exitCode === null) this.serverProcess.kill("SIGKILL");
    this.serverProcess = null;
  }

  track(disposable: vscode.Disposable): void {
    this.disposables.push(disposable);
  }

  async dispose(): Promise<void> {
    this.panel?.dispose();
    await this.stopClient();
    for (const disposable of this.disposables.splice(0)) disposable.dispose();
  }
}
