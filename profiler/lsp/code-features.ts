// The reports' marks placed on the code: a warning per flagged route at its handler's line
// (published for every file that has one, cleared where none is left), a code lens above every
// observed handler and a hover with its figures (answered from the marks of the last reports).
import { fileURLToPath, pathToFileURL } from "node:url";
import type { CodeLens, Diagnostic, Hover, Range } from "vscode-languageserver";
import { DiagnosticSeverity } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { diagnosticMessage, hoverMarkdown, lensActions, marksByFile, type HandlerMark, type ShownReport } from "./code-view";

export type SeverityName = "error" | "warning" | "information" | "hint";

const SEVERITIES: Record<SeverityName, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** The settings the server reads from the client (workspace/configuration, section "balloon"). */
export interface CodeSettings {
  severity: SeverityName;
  keepResultsAfterStop: boolean;
}

export const DEFAULT_CODE_SETTINGS: CodeSettings = { severity: "warning", keepResultsAfterStop: true };

/** The client's "balloon" section, whatever it holds, as CodeSettings (extension/config.ts has already said what is wrong). */
export function codeSettingsOf(section: unknown): CodeSettings {
  const value = (typeof section === "object" && section !== null ? section : {}) as Record<string, unknown>;
  const diagnostics = (typeof value.diagnostics === "object" && value.diagnostics !== null ? value.diagnostics : {}) as Record<string, unknown>;
  const severity = typeof diagnostics.severity === "string" && Object.hasOwn(SEVERITIES, diagnostics.severity) ? (diagnostics.severity as SeverityName) : DEFAULT_CODE_SETTINGS.severity;
  const keep = typeof value.keepResultsAfterStop === "boolean" ? value.keepResultsAfterStop : DEFAULT_CODE_SETTINGS.keepResultsAfterStop;
  return { severity, keepResultsAfterStop: keep };
}

export interface CodeOutput {
  publishDiagnostics(uri: string, diagnostics: Diagnostic[]): void;
  /** Ask the client for the lenses again (they are pulled). */
  refreshLenses(): void;
  /** The open document at a URI, for exact ranges (null: not open). */
  document(uri: string): TextDocument | undefined;
}

/** The largest character offset LSP allows (uinteger): "to the end of the line" for a file not open. */
const LINE_END = 2 ** 31 - 1;

export const uriOfPath = (path: string): string => pathToFileURL(path).href;

function pathOfUri(uri: string): string | null {
  try {
    return fileURLToPath(uri);
  } catch {
    return null; // not a file: URI (untitled, git:) holds no handler
  }
}

export class CodeFeatures {
  private marks = new Map<string, HandlerMark[]>();
  private published = new Set<string>();
  settings: CodeSettings = DEFAULT_CODE_SETTINGS;

  constructor(private readonly output: CodeOutput) {}

  /** New reports to show (or none: everything cleared). */
  show(reports: readonly ShownReport[]): void {
    this.marks = marksByFile(reports);
    const now = new Set<string>();
    for (const [path, marks] of this.marks) {
      const uri = uriOfPath(path);
      const diagnostics = this.diagnosticsFor(uri, marks);
      if (diagnostics.length === 0) continue;
      now.add(uri);
      this.output.publishDiagnostics(uri, diagnostics);
    }
    for (const uri of this.published) if (!now.has(uri)) this.output.publishDiagnostics(uri, []);
    this.published = now;
    this.output.refreshLenses();
  }

  /** A document opened: its warnings again, now with ranges that fit its text. */
  opened(uri: string): void {
    const marks = this.marksAt(uri);
    if (marks.length > 0 && this.published.has(uri)) this.output.publishDiagnostics(uri, this.diagnosticsFor(uri, marks));
  }

  codeLenses(uri: string): CodeLens[] {
    const marks = this.marksAt(uri);
    const perLine = countBy(marks, (mark) => mark.line);
    return marks.flatMap((mark) => lensActions(mark, (perLine.get(mark.line) ?? 0) > 1).map((action) => ({
      range: this.rangeOf(uri, mark.line),
      command: { title: action.title, command: action.command, arguments: action.arguments },
    })));
  }

  hover(uri: string, line: number): Hover | null {
    const routes = this.marksAt(uri).filter((mark) => mark.line === line).map((mark) => mark.route);
    if (routes.length === 0) return null;
    return { contents: { kind: "markdown", value: hoverMarkdown(routes) }, range: this.rangeOf(uri, line) };
  }

  private marksAt(uri: string): HandlerMark[] {
    const path = pathOfUri(uri);
    return path === null ? [] : this.marks.get(path) ?? [];
  }

  private diagnosticsFor(uri: string, marks: readonly HandlerMark[]): Diagnostic[] {
    const diagnostics: Diagnostic[] = [];
    for (const mark of marks) {
      const message = diagnosticMessage(mark.route);
      if (message === null) continue;
      diagnostics.push({ range: this.rangeOf(uri, mark.line), severity: SEVERITIES[this.settings.severity], source: "balloon", code: mark.route.flags[0], message });
    }
    return diagnostics;
  }

  /** The line's text without its indentation when the document is open; the whole line otherwise. */
  private rangeOf(uri: string, line: number): Range {
    const document = this.output.document(uri);
    if (!document || line >= document.lineCount) return { start: { line, character: 0 }, end: { line, character: LINE_END } };
    const text = document.getText({ start: { line, character: 0 }, end: { line: line + 1, character: 0 } }).replace(/\r?\n$/, "");
    const start = text.length - text.trimStart().length;
    return { start: { line, character: start }, end: { line, character: Math.max(start + 1, text.trimEnd().length) } };
  }
}

function countBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, number> {
  const counts = new Map<K, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
