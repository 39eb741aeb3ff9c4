// The panel's HTML from webview/index.html, for the extension (extension/panel.ts) and the tests.
// Pure, no vscode import: the caller passes webview.cspSource, a fresh nonce and the asWebviewUri()
// of dist/webview/main.js and style.css. Bundlers load index.html as text (esbuild: loader ".html": "text").
import template from "./index.html";

export interface PanelHtmlParts {
  /** webview.cspSource: where the page may load styles, fonts and images from. */
  cspSource: string;
  /** A new random value per page load (letters and digits). */
  nonce: string;
  scriptUri: string;
  styleUri: string;
}

/** The Content-Security-Policy of the panel: the nonce'd script, and styles, fonts, images from cspSource. */
export function panelCsp({ cspSource, nonce }: Pick<PanelHtmlParts, "cspSource" | "nonce">): string {
  return `default-src 'none'; img-src ${cspSource} data:; style-src ${cspSource}; font-src ${cspSource}; script-src 'nonce-${nonce}'`;
}

const escapeAttribute = (value: string) => value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export function panelHtml(parts: PanelHtmlParts): string {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(parts.nonce)) throw new Error("a CSP nonce is letters, digits and + / = _ - only");
  const values: Record<string, string> = { csp: panelCsp(parts), nonce: parts.nonce, scriptUri: parts.scriptUri, styleUri: parts.styleUri };
  return template.replace(/\{\{(\w+)\}\}/g, (place, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`index.html has an unknown place ${place}`);
    return escapeAttribute(value);
  });
}
