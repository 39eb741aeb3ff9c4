// A language client for tests: starts `balloon lsp --stdio` (the bundle, as the extension does),
// talks JSON-RPC to it with vscode-jsonrpc, answers its workspace/configuration and lens-refresh
// requests, and keeps every notification it sends so a test can wait for the one it expects.
import { spawn } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from "vscode-jsonrpc/node";
import { repoRoot, sleep } from "./balloon.mjs";

export const uriOf = (file) => pathToFileURL(file).href;

export class LspClient {
  /** @param settings the client's "balloon" section, answered to workspace/configuration */
  constructor(settings) {
    this.settings = settings;
    this.notifications = [];
    this.stderr = "";
    this.process = spawn(process.execPath, [path.join(repoRoot, "dist/cli.js"), "lsp", "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    this.process.stderr.on("data", (chunk) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.process.once("exit", (code, signal) => resolve({ code, signal })));
    this.connection = createMessageConnection(new StreamMessageReader(this.process.stdout), new StreamMessageWriter(this.process.stdin));
    this.connection.onRequest("workspace/configuration", (params) => params.items.map(() => this.settings));
    this.connection.onRequest("workspace/codeLens/refresh", () => null);
    this.connection.onNotification((method, params) => this.notifications.push({ method, params }));
    this.connection.listen();
  }

  get pid() {
    return this.process.pid;
  }

  async initialize() {
    const result = await this.connection.sendRequest("initialize", {
      processId: process.pid,
      rootUri: null,
      capabilities: { workspace: { configuration: true, codeLens: { refreshSupport: true } } },
    });
    await this.connection.sendNotification("initialized", {});
    return result;
  }

  request(method, params) {
    return this.connection.sendRequest(method, params);
  }

  /** The first notification of `method` (from index `from` on) for which `match(params)` is truthy. */
  async waitFor(method, match = () => true, { timeoutMs = 30_000, from = 0 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.notifications.slice(from).find((n) => n.method === method && match(n.params));
      if (found) return found.params;
      if (this.process.exitCode !== null) throw new Error(`the server exited waiting for ${method}; stderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`no ${method} matching within ${timeoutMs} ms; got ${this.notifications.map((n) => n.method).join(", ")}`);
      await sleep(50);
    }
  }

  /** shutdown + exit, as a client stopping; resolves with the process's exit. */
  async shutdown() {
    await this.connection.sendRequest("shutdown");
    await this.connection.sendNotification("exit");
    return this.exited;
  }

  kill() {
    if (this.process.exitCode === null) this.process.kill("SIGKILL");
  }
}
