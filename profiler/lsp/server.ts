// `balloon lsp --stdio`: the language server. Sessions are held by SessionHost; this file wires
// them to LSP: protocol.ts's custom requests and notifications (typed from its Requests and
// Notifications maps), diagnostics, code lenses and hovers on the handlers, the client's
// "balloon" settings, and shutdown, which stops every app and worker before the server exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CodeLensRefreshRequest, NotificationType, RequestType, ResponseError, TextDocuments, TextDocumentSyncKind, createConnection,
  type Connection, type MessageReader, type MessageWriter,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { DeepDiveError } from "../analysis/deep";
import { Method, type DeepDiveErrorData, type Notifications, type Requests } from "../protocol";
import { CodeFeatures, codeSettingsOf } from "./code-features";
import type { SessionListener } from "./live-session";
import { SessionHost } from "./session-host";

/** LSP's "request failed" code (3.17): the request was valid, what it asked for could not be done. */
const REQUEST_FAILED = -32803;

/** What a failed request carries beside its message (a refused deep dive: which problem). */
type ErrorData = DeepDiveErrorData | undefined;

const request = <M extends keyof Requests>(method: M) => new RequestType<Requests[M]["params"], Requests[M]["result"], ErrorData>(method);
const notification = <M extends keyof Notifications>(method: M) => new NotificationType<Notifications[M]>(method);

export interface ServerOptions {
  shimDir: string;
  reader: MessageReader | NodeJS.ReadableStream;
  writer: MessageWriter | NodeJS.WritableStream;
}

function handle<P, R>(run: (params: P) => R | Promise<R>): (params: P) => Promise<R | ResponseError<ErrorData>> {
  return async (params) => {
    try {
      return await run(params);
    } catch (error) {
      // The message is what the user reads (a setting out of range, a port in use, no such file,
      // the routes there are); a refused deep dive also says which problem it was, for programs.
      const data = error instanceof DeepDiveError ? { problem: error.problem } : undefined;
      return new ResponseError(REQUEST_FAILED, error instanceof Error ? error.message : String(error), data);
    }
  };
}

export function startLanguageServer(options: ServerOptions): Connection {
  const connection = createConnection(options.reader as MessageReader, options.writer as MessageWriter);
  const documents = new TextDocuments(TextDocument);
  const tempDir = mkdtempSync(join(tmpdir(), "balloon-lsp-"));
  let canRefreshLenses = false;
  let canPullConfiguration = false;

  const code = new CodeFeatures({
    publishDiagnostics: (uri, diagnostics) => void connection.sendDiagnostics({ uri, diagnostics }),
    refreshLenses: () => {
      if (canRefreshLenses) void connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
    },
    document: (uri) => documents.get(uri),
  });
  const showReports = (): void => code.show(host.shownReports(code.settings.keepResultsAfterStop));

  const listener: SessionListener = {
    status: (status) => {
      void connection.sendNotification(notification(Method.statusChanged), status);
      if (status.state === "stopped" || status.state === "failed") showReports();
    },
    timeline: (batch) => void connection.sendNotification(notification(Method.timeline), batch),
    report: (changed) => {
      void connection.sendNotification(notification(Method.reportChanged), changed);
      showReports();
    },
    log: (line) => void connection.sendNotification(notification(Method.log), line),
    deepDiveCall: (ended) => void connection.sendNotification(notification(Method.deepDiveCall), ended),
  };
  const host = new SessionHost({ shimDir: options.shimDir, tempDir, listener });

  const pullSettings = async (): Promise<void> => {
    if (!canPullConfiguration) return;
    code.settings = codeSettingsOf(await connection.workspace.getConfiguration("balloon").catch(() => null));
    showReports();
  };

  connection.onInitialize((params) => {
    canRefreshLenses = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    canPullConfiguration = params.capabilities.workspace?.configuration === true;
    return {
      capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental, codeLensProvider: { resolveProvider: false }, hoverProvider: true },
      serverInfo: { name: "balloon" },
    };
  });
  connection.onInitialized(() => void pullSettings());
  connection.onDidChangeConfiguration(() => void pullSettings());
  documents.onDidOpen((event) => code.opened(event.document.uri));
  connection.onCodeLens((params) => code.codeLenses(params.textDocument.uri));
  connection.onHover((params) => code.hover(params.textDocument.uri, params.position.line));

  connection.onRequest(request(Method.run), handle((params) => host.run(params)));
  connection.onRequest(request(Method.stop), handle((params) => host.stop(params.sessionId)));
  connection.onRequest(request(Method.status), handle(() => host.statuses()));
  connection.onRequest(request(Method.routes), handle((params) => host.routes(params.sessionId)));
  connection.onRequest(request(Method.samples), handle((params) => host.samples(params.sessionId)));
  connection.onRequest(request(Method.recommend), handle((params) => host.recommend(params)));
  connection.onRequest(request(Method.export), handle((params) => host.export(params)));
  connection.onRequest(request(Method.openRecord), handle((params) => host.openRecord(params)));
  connection.onRequest(request(Method.profileRequests), handle((params) => host.profileRequests(params)));
  connection.onRequest(request(Method.deepDive), handle((params) => host.deepDive(params)));

  connection.onShutdown(() => host.stopAll("the editor stopped the language server"));
  // Exit without a shutdown (the client died, stdin closed): no time for a graceful stop, but
  // no process of the app may outlive the server.
  process.on("exit", () => {
    host.killAll();
    rmSync(tempDir, { recursive: true, force: true });
  });

  documents.listen(connection);
  connection.listen();
  return connection;
}
