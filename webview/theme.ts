// Chart colours from VS Code's theme (the CSS variables it sets on the webview), read at start and
// again when the theme changes (VS Code swaps the body's vscode-light/-dark/-high-contrast class).
// paletteFrom is pure; the fallbacks keep a plain page (the offline report) readable.
import type { MarkerKind } from "./timeline";

export interface Palette {
  readonly foreground: string;
  readonly muted: string;
  readonly grid: string;
  readonly background: string;
  readonly fontFamily: string;
  readonly fontSize: number;
  /** One colour per worker slot, cycled. */
  readonly workers: readonly string[];
  readonly total: string;
  readonly budget: string;
  readonly markers: Readonly<Record<MarkerKind, string>>;
  readonly peak: string;
  readonly retained: string;
}

/** name → value of a CSS custom property ("" when unset). */
export type ReadVariable = (name: string) => string;

export function paletteFrom(read: ReadVariable): Palette {
  const v = (name: string, fallback: string) => read(`--vscode-${name}`).trim() || fallback;
  const foreground = v("foreground", "#cccccc");
  const red = v("charts-red", "#f14c4c");
  const orange = v("charts-orange", "#d18616");
  const blue = v("charts-blue", "#3794ff");
  return {
    foreground,
    muted: v("descriptionForeground", foreground),
    grid: v("panel-border", "rgba(128, 128, 128, 0.35)"),
    background: v("editor-background", "#1e1e1e"),
    fontFamily: v("font-family", "system-ui, sans-serif"),
    fontSize: Number.parseFloat(v("font-size", "13")) || 13,
    workers: [blue, v("charts-green", "#89d185"), v("charts-purple", "#b180d7"), v("charts-yellow", "#cca700"), orange],
    total: foreground,
    budget: red,
    markers: { recycle: v("descriptionForeground", "#8b949e"), crash: red, timeout: orange },
    peak: blue,
    retained: orange,
  };
}

export function currentPalette(): Palette {
  const style = getComputedStyle(document.body);
  return paletteFrom((name) => style.getPropertyValue(name));
}

/**
 * Calls back when the theme may have changed: the body's theme class or name, or the variables
 * VS Code sets on the root element (two dark themes share the class). Returns the unsubscribe.
 */
export function watchTheme(onChange: () => void): () => void {
  const observer = new MutationObserver(() => onChange());
  observer.observe(document.body, { attributes: true, attributeFilter: ["class", "data-vscode-theme-kind", "data-vscode-theme-name"] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["style"] });
  return () => observer.disconnect();
}
