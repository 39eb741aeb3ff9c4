// Which Python runs the app: the Python extension's selected interpreter when it is installed,
// else balloon.pythonPath, else the workspace's venv (.venv, venv), else python3 — left to the
// engine, which takes the first python3 that imports the app's framework. The decision is pure
// (chooseInterpreter); the few VS Code calls are in pythonExtensionInterpreter.
import { join } from "node:path";
import type * as vscode from "vscode";

export interface InterpreterInputs {
  /** The Python extension's interpreter for the workspace folder; null when it is not installed or has none. */
  pythonExtension: string | null;
  /** balloon.pythonPath ("" when unset). */
  setting: string;
  workspace: string;
  exists(path: string): boolean;
}

export interface InterpreterChoice {
  /** Absolute, or null: the engine chooses among the python3 it finds. */
  python: string | null;
  why: string;
}

export const VENV_DIRS = [".venv", "venv"] as const;

export function chooseInterpreter(inputs: InterpreterInputs): InterpreterChoice {
  if (inputs.pythonExtension) return { python: inputs.pythonExtension, why: "the Python extension's interpreter" };
  if (inputs.setting.trim()) return { python: inputs.setting.trim(), why: "balloon.pythonPath" };
  for (const dir of VENV_DIRS) {
    const python = join(inputs.workspace, dir, "bin", "python");
    if (inputs.exists(python)) return { python, why: `the workspace's ./${dir}` };
  }
  return { python: null, why: "python3" };
}

/** The Python extension's (ms-python.python) active interpreter for `folder`, or null when it is not installed. */
export async function pythonExtensionInterpreter(api: typeof vscode, folder: vscode.Uri): Promise<string | null> {
  if (!api.extensions.getExtension("ms-python.python")) return null;
  try {
    // Loaded only here: the facade requires the Python extension to be installed.
    const { PythonExtension } = await import("@vscode/python-extension");
    const python = await PythonExtension.api();
    const active = python.environments.getActiveEnvironmentPath(folder);
    const resolved = await python.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path ?? null;
  } catch {
    return null; // not activated or no interpreter selected: the next choice applies
  }
}
