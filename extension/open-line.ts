// Going to a line of the app: a handler from the panel's route table, an allocation site from the
// Deep dive tab or the dive's message. Files come as the report gives them: relative to the app's
// directory (the session's report says which), or absolute.
import { isAbsolute, join } from "node:path";
import * as vscode from "vscode";
import { Method } from "../profiler/protocol";
import type { Ctx } from "./ctx";

/** Opens the file at its 1-based line in the first editor column. */
export async function openAppLine(ctx: Ctx, sessionId: string | null, file: string, line: number): Promise<void> {
  const appDir = isAbsolute(file) || sessionId === null ? "" : (await ctx.request(Method.routes, { sessionId })).app.cwd;
  const uri = vscode.Uri.file(isAbsolute(file) ? file : join(appDir, file));
  const position = new vscode.Position(Math.max(0, line - 1), 0);
  await vscode.window.showTextDocument(uri, { selection: new vscode.Range(position, position), viewColumn: vscode.ViewColumn.One });
}
