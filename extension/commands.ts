// The commands, one factory each (rust-analyzer's shape): given the Ctx, the handler. Their ids
// are fixed (package.json, the README and the tests rely on them). Each resolves to what it did
// (the session's status, the file written) or to why it did nothing, so in-host tests can check.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import * as vscode from "vscode";
import { Method, type AppTarget, type DeepDiveCommandArgs, type ExportFormat, type SessionStatus } from "../profiler/protocol";
import type { DeepDive } from "../profiler/record/model";
import { EXPORT_FORMATS, type BalloonConfig } from "./config";
import type { Ctx } from "./ctx";
import { diveCallWords, diveProgressTitle, routePicks, topSiteMessage } from "./deep-dive-words";
import { chooseInterpreter, pythonExtensionInterpreter } from "./interpreter";
import { openAppLine } from "./open-line";
import { detectTarget, type WorkspaceFiles } from "./target";

export type Outcome<T = undefined> = { ok: true; value: T } | { ok: false; message: string };

type Command = (...args: never[]) => Promise<Outcome<unknown>>;

const refuse = (message: string): Outcome<never> => {
  void vscode.window.showErrorMessage(message);
  return { ok: false, message };
};

const workspaceFiles: WorkspaceFiles = {
  exists: (path) => existsSync(path),
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  read: (path) => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return null;
    }
  },
};

/** Running the app's code needs a trusted workspace; null when it is. */
function untrusted(): Outcome<never> | null {
  return vscode.workspace.isTrusted ? null : refuse("Balloon runs your app's code, so it does not run in an untrusted workspace. Trust this folder first (Manage Workspace Trust).");
}

/** Settings that run the app: valid, in a trusted workspace folder. */
function runnable(ctx: Ctx): Outcome<{ folder: vscode.WorkspaceFolder; config: BalloonConfig }> {
  const refused = untrusted();
  if (refused) return refused;
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder || folder.uri.scheme !== "file") return refuse("Balloon: open the folder of your app first.");
  const { config, errors } = ctx.config();
  if (errors.length > 0) return refuse(`Balloon cannot run with these settings: ${errors.join("; ")}`);
  return { ok: true, value: { folder, config } };
}

/** The app and its interpreter: detected, asked for only when several apps are found. */
async function appTarget(folder: vscode.WorkspaceFolder, config: BalloonConfig): Promise<Outcome<AppTarget>> {
  const detection = detectTarget(folder.uri.fsPath, config.app, workspaceFiles);
  let candidate;
  if (detection.kind === "none") return refuse(`Balloon: ${detection.message}`);
  if (detection.kind === "found") candidate = detection.candidate;
  else {
    const picked = await vscode.window.showQuickPick(detection.candidates.map((c) => ({ label: c.label, candidate: c })), { title: "Which app should Balloon run?" });
    if (!picked) return { ok: false, message: "no app picked" };
    candidate = picked.candidate;
  }
  const interpreter = chooseInterpreter({
    pythonExtension: await pythonExtensionInterpreter(vscode, folder.uri),
    setting: config.pythonPath,
    workspace: folder.uri.fsPath,
    exists: existsSync,
  });
  return { ok: true, value: { ...candidate.app, python: interpreter.python, ...(interpreter.python ? { pythonWhy: interpreter.why } : {}) } };
}

async function requested<T>(what: string, call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return refuse(`Balloon could not ${what}: ${(error as Error).message}`);
  }
}

export function run(ctx: Ctx): () => Promise<Outcome<SessionStatus>> {
  return async () => {
    const ready = runnable(ctx);
    if (!ready.ok) return ready;
    const app = await appTarget(ready.value.folder, ready.value.config);
    if (!app.ok) return app;
    const started = await requested("start the app", () => ctx.request(Method.run, { app: app.value, settings: ready.value.config.run }));
    if (!started.ok) return started;
    ctx.follow(started.value);
    ctx.log.appendLine(`[balloon] ${app.value.target} with ${started.value.python} (${started.value.pythonWhy}) on ${started.value.url}`);
    ctx.showPanel(true);
    return started;
  };
}

export function stop(ctx: Ctx): () => Promise<Outcome<SessionStatus[]>> {
  return async () => {
    const live = ctx.liveSessions;
    if (live.length === 0) return { ok: false, message: "nothing is running" };
    const stopped = await requested("stop the app", () => Promise.all(live.map((s) => ctx.request(Method.stop, { sessionId: s.sessionId }))));
    if (stopped.ok) for (const status of stopped.value) if (status.sessionId === ctx.current?.sessionId) ctx.follow(status);
    return stopped;
  };
}

export function showPanel(ctx: Ctx): () => Promise<Outcome> {
  return async () => {
    ctx.showPanel();
    return { ok: true, value: undefined };
  };
}

export function profileRequests(ctx: Ctx): (file?: vscode.Uri) => Promise<Outcome<SessionStatus>> {
  return async (file) => {
    const ready = runnable(ctx);
    if (!ready.ok) return ready;
    const requestsFile = file ?? (await vscode.window.showOpenDialog({ title: "A requests file: METHOD PATH [xN] lines", canSelectMany: false, defaultUri: ready.value.folder.uri }))?.[0];
    if (!requestsFile) return { ok: false, message: "no requests file picked" };
    const app = await appTarget(ready.value.folder, ready.value.config);
    if (!app.ok) return app;
    const profiled = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Balloon: profiling ${app.value.target} with ${requestsFile.fsPath}` }, () =>
      requested("profile the requests file", () => ctx.request(Method.profileRequests, { app: app.value, settings: ready.value.config.run, requestsPath: requestsFile.fsPath })));
    if (!profiled.ok) return profiled;
    ctx.follow(profiled.value);
    ctx.showPanel();
    return profiled;
  };
}

/** The palette's way in: the running session's observed routes, flagged first, with their flags and figures. */
async function pickRoute(ctx: Ctx, session: SessionStatus): Promise<Outcome<DeepDiveCommandArgs>> {
  const report = await requested("read the app's routes", () => ctx.request(Method.routes, { sessionId: session.sessionId }));
  if (!report.ok) return report;
  const picks = routePicks(report.value);
  if (picks.length === 0) return refuse(`Balloon: no route has been served yet: send the app some requests (${session.url ?? "it is starting"}), then dive into one.`);
  const picked = await vscode.window.showQuickPick(picks, { title: "Deep dive: which route?", placeHolder: "its calls again, in a worker of its own under tracemalloc: the lines that allocate", matchOnDescription: true });
  if (!picked) return { ok: false, message: "no route picked" };
  return { ok: true, value: { sessionId: session.sessionId, method: picked.method, route: picked.route } };
}

/**
 * tracemalloc on one route of the running app (its calls again, in a worker of its own): from a
 * handler's code lens or the panel with the route, from the palette by a pick. The panel opens
 * on its Deep dive tab with the lines, and the top one is a click away.
 */
export function deepDive(ctx: Ctx): (args?: DeepDiveCommandArgs) => Promise<Outcome<DeepDive>> {
  return async (args) => {
    const refused = untrusted();
    if (refused) return refused;
    const { config, errors } = ctx.config();
    if (errors.length > 0) return refuse(`Balloon cannot run a deep dive with these settings: ${errors.join("; ")}`);
    const session = ctx.runningSession(args?.sessionId);
    if (!session) {
      const which = args?.sessionId !== undefined ? "the run this lens belongs to has stopped" : "no app is running";
      return refuse(`Balloon: ${which}. A deep dive replays a route's calls in the running app: start it with "Balloon: Run App with Balloon", send it some requests, then dive from a handler's code lens.`);
    }
    let target = args;
    if (!target) {
      const picked = await pickRoute(ctx, session);
      if (!picked.ok) return picked;
      target = picked.value;
    }
    const { method, route } = target;
    if (ctx.current?.sessionId !== session.sessionId) {
      ctx.follow(session);
      void ctx.panelIfOpen?.refresh();
    }
    const { calls, frames } = config.deepDive;
    // A second dive while one runs is sent all the same: the engine answers why not, in its words.
    const mine = ctx.deepDiveRunning === null;
    if (mine) ctx.deepDiveRunning = { method, route, calls };
    let dive: DeepDive;
    try {
      dive = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: diveProgressTitle(method, route, calls) }, (progress) => {
        // Each call's end as it comes: under tracemalloc one can take minutes.
        const told = ctx.onDeepDiveCall((ended) => {
          if (ended.sessionId === session.sessionId) progress.report({ message: diveCallWords(ended), increment: 100 / ended.total });
        });
        return ctx.request(Method.deepDive, { sessionId: session.sessionId, method, route, calls, frames }).finally(() => told.dispose());
      });
    } catch (error) {
      return refuse(`Balloon: deep dive on ${method} ${route}: ${(error as Error).message}`);
    } finally {
      if (mine) ctx.deepDiveRunning = null;
    }
    ctx.showPanel(true).showTab("deep");
    const top = topSiteMessage(dive);
    // Not awaited: the command is done; the message stays until answered or closed.
    void vscode.window.showInformationMessage(top.text, ...(top.site ? ["Go to line"] : [])).then(async (answer) => {
      if (!answer || !top.site) return;
      await openAppLine(ctx, session.sessionId, top.site.file, top.site.line).catch((error: Error) => refuse(`Balloon: cannot open ${top.site?.file}: ${error.message}`));
    });
    return { ok: true, value: dive };
  };
}

/** Writes into the workspace folder (asking before replacing a file), or opens an untitled editor without one. */
async function writeExport(fileName: string, text: string): Promise<Outcome<string>> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ content: text }));
    return { ok: true, value: "untitled" };
  }
  const uri = vscode.Uri.joinPath(folder.uri, fileName);
  if (existsSync(uri.fsPath)) {
    const answer = await vscode.window.showWarningMessage(`${fileName} exists in the workspace. Replace it?`, { modal: true }, "Replace");
    if (answer !== "Replace") return { ok: false, message: `${fileName} kept` };
  }
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text, "utf8"));
  await vscode.window.showTextDocument(uri, { preview: false });
  return { ok: true, value: uri.fsPath };
}

export function exportSettings(ctx: Ctx): (format?: ExportFormat) => Promise<Outcome<string>> {
  return async (given) => {
    const session = ctx.current;
    if (!session) return refuse("Balloon: run the app (or open a recording) first: the settings come from its traffic.");
    const format = given ?? (await vscode.window.showQuickPick([...EXPORT_FORMATS], { title: "Export settings for", placeHolder: "the server that runs the app in production" }));
    if (!format) return { ok: false, message: "no format picked" };
    const budget = ctx.config().config.run.memoryBudgetMiB;
    const exported = await requested(`export ${format} settings`, () =>
      ctx.request(Method.export, { sessionId: session.sessionId, format: format as ExportFormat, ...(budget ? { budgetMiB: budget } : {}) }));
    if (!exported.ok) return exported;
    return writeExport(exported.value.fileName, exported.value.text);
  };
}

export function openRecord(ctx: Ctx): (file?: vscode.Uri) => Promise<Outcome<SessionStatus>> {
  return async (file) => {
    const picked = file ?? (await vscode.window.showOpenDialog({ title: "A Balloon recording (.jsonl) or report (.json)", filters: { Balloon: ["jsonl", "json"] }, canSelectMany: false }))?.[0];
    if (!picked) return { ok: false, message: "no file picked" };
    const opened = await requested(`open ${picked.fsPath}`, () => ctx.request(Method.openRecord, { path: picked.fsPath }));
    if (!opened.ok) return opened;
    ctx.follow(opened.value);
    ctx.showPanel();
    return opened;
  };
}

export function restartServer(ctx: Ctx): () => Promise<Outcome> {
  return async () => {
    await ctx.restart();
    return { ok: true, value: undefined };
  };
}

/** Command id → factory; ids are fixed. */
export const COMMANDS: Record<string, (ctx: Ctx) => Command> = {
  "balloon.run": run,
  "balloon.stop": stop,
  "balloon.showPanel": showPanel,
  "balloon.profileRequests": profileRequests,
  "balloon.deepDive": deepDive,
  "balloon.exportSettings": exportSettings,
  "balloon.openRecord": openRecord,
  "balloon.restartServer": restartServer,
};

export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, factory]) => vscode.commands.registerCommand(id, factory(ctx)));
}
