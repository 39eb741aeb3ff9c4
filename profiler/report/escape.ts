// Text that came from the app, a request, a file or the command line, made safe to print on
// a terminal: a request path like /env%1B%5D0%3BPWNED%07 must not retitle the user's window,
// clear the screen, or reorder what follows it (bidi overrides). Pure; used at every place
// where such text is printed (report cells and summary, log lines, error messages, warnings).
// Backslashes are left alone on purpose: escaping twice changes nothing.

/** C0 controls, DEL, C1 controls (U+009B is a one-character CSI), bidi embeddings, overrides and isolates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** The same, but tab and newline pass: log lines keep their line structure. */
const UNSAFE_IN_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function visible(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** One line of text (a table cell, a path): every control character becomes \xNN or \uNNNN. */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** Multi-line text (log output, tracebacks): newlines and tabs stay, CRLF becomes LF, the rest is escaped. */
export function escapeControlInLines(text: string): string {
  return text.replace(/\r\n/g, "\n").replace(UNSAFE_IN_LINES, visible);
}

/** Characters JSON.stringify leaves raw that a terminal may act on (C1, bidi) or that break JavaScript (U+2028/9). */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text with those characters as \uNNNN escapes: the same data once parsed, safe to print.
 * Only valid on JSON.stringify output, where such a character can only sit inside a string.
 */
export function escapeJsonText(json: string): string {
  return json.replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
