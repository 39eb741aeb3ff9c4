// Raw paths grouped by shape, as the shim groups a plain WSGI app's routes (routes.py's
// fold_path) and the gunicorn recorder's generated Python does: a segment of digits becomes
// <int>, a UUID or 16+ hex digits <id>, either keeping a short extension ("<id>.ics"). For logs
// that hold only paths (uWSGI's). Pure.

const INT_SEGMENT = /^[0-9]+$/;
const ID_SEGMENT = /^(?:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{16,})$/;
/** A file-like segment keeps its extension: a CalDAV item "<uuid>.ics", "/reports/42.pdf". */
const EXTENSION = /^(.+)(\.[A-Za-z][A-Za-z0-9]{0,4})$/s;

function foldSegment(segment: string): string {
  const named = EXTENSION.exec(segment);
  const [stem, extension] = named ? [named[1], named[2]] : [segment, ""];
  if (INT_SEGMENT.test(stem)) return `<int>${extension}`;
  if (ID_SEGMENT.test(stem)) return `<id>${extension}`;
  return segment;
}

/** "/users/42/orders/9f86d081884c7d65" → "/users/<int>/orders/<id>". */
export function foldPath(path: string): string {
  return path.split("/").map(foldSegment).join("/");
}

/**
 * A request URI as a WSGI server hands PATH_INFO to the app: the query string cut off and
 * percent-escapes decoded (kept as written where they do not decode as UTF-8).
 */
export function uriPath(uri: string): { path: string; query: string } {
  const mark = uri.indexOf("?");
  const raw = mark === -1 ? uri : uri.slice(0, mark);
  let path = raw;
  try {
    path = decodeURIComponent(raw);
  } catch {
    // a malformed escape: the raw path is the best name it has
  }
  return { path, query: mark === -1 ? "" : uri.slice(mark + 1) };
}
