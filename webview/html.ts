// Placeholder until the webview branch lands (it replaces this file, with the same panelHtml):
// the panel's page with its strict CSP. Pure, no vscode import.
export interface PanelHtmlParts {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

export function panelCsp({ cspSource, nonce }: Pick<PanelHtmlParts, "cspSource" | "nonce">): string {
  return `default-src 'none'; img-src ${cspSource} data:; style-src ${cspSource}; font-src ${cspSource}; script-src 'nonce-${nonce}'`;
}

const attribute = (value: string): string => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function panelHtml(parts: PanelHtmlParts): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${attribute(panelCsp(parts))}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${attribute(parts.styleUri)}">
<title>Balloon</title></head>
<body>
<header id="status">Balloon: waiting for a run</header>
<canvas id="timeline" width="900" height="220" aria-label="memory per worker"></canvas>
<table id="routes"><thead><tr><th>route</th><th>flags</th><th>peak MiB</th><th>retained MiB</th><th>calls</th><th>handler</th></tr></thead><tbody></tbody></table>
<script nonce="${attribute(parts.nonce)}" src="${attribute(parts.scriptUri)}"></script>
</body></html>`;
}
