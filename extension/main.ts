// The extension's entry: wire the Ctx, the commands and the settings check, start the language
// client, and return what the in-host tests look at. Everything else lives in ctx.ts.
import * as vscode from "vscode";
import { SECTION } from "./config";
import { registerCommands } from "./commands";
import { Ctx } from "./ctx";

/** What activate() returns: for the in-host tests (and other extensions), nothing to call back into. */
export interface BalloonApi {
  readonly ctx: Ctx;
}

let ctx: Ctx | null = null;

export async function activate(context: vscode.ExtensionContext): Promise<BalloonApi> {
  const created = new Ctx(context);
  ctx = created;
  for (const command of registerCommands(created)) created.track(command);
  created.track(vscode.workspace.onDidChangeConfiguration((event) => {
    if (!event.affectsConfiguration(SECTION)) return;
    const { errors } = created.config();
    if (errors.length > 0) void vscode.window.showWarningMessage(`Balloon settings: ${errors.join("; ")}`);
  }));
  await created.start();
  return { ctx: created };
}

export async function deactivate(): Promise<void> {
  const current = ctx;
  ctx = null;
  await current?.dispose();
}
