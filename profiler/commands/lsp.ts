// `balloon lsp --stdio`: the language server the VS Code extension starts (profiler/lsp/).
import { OptionError } from "../options";
import { startLanguageServer } from "../lsp/server";

/** Resolves when the client has gone: the server's exit ends the process. */
export function lspCommand(options: { stdio?: boolean }, shimDir: string): Promise<void> {
  if (!options.stdio) throw new OptionError("balloon lsp talks LSP over stdin/stdout only: pass --stdio");
  const connection = startLanguageServer({ shimDir, reader: process.stdin, writer: process.stdout });
  return new Promise((resolve) => connection.onExit(() => resolve()));
}
