// The requests file of `balloon profile`: one request per line, `METHOD PATH [xN]`, `#` comments.
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const MAX_REPEAT = 100_000;

export interface PlannedRequest {
  method: string;
  /** Path with its query string, as sent. */
  path: string;
  repeat: number;
  /** 1-based line in the file, for messages. */
  line: number;
}

export class RequestsFileError extends Error {}

export function parseRequestsFile(text: string, name = "requests file"): PlannedRequest[] {
  const planned: PlannedRequest[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const content = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!content) return;
    const words = content.split(/\s+/);
    const where = `${name}:${line}`;
    if (words.length < 2 || words.length > 3) {
      throw new RequestsFileError(`${where}: expected "METHOD PATH [xN]", got "${raw.trim()}"`);
    }
    const method = words[0].toUpperCase();
    if (!METHODS.has(method)) throw new RequestsFileError(`${where}: unknown method "${words[0]}" (one of ${[...METHODS].join(", ")})`);
    const path = words[1];
    if (!path.startsWith("/")) throw new RequestsFileError(`${where}: the path must start with "/", got "${path}"`);
    let repeat = 1;
    if (words.length === 3) {
      const match = /^x(\d+)$/i.exec(words[2]);
      repeat = match ? Number(match[1]) : 0;
      if (!match || repeat < 1 || repeat > MAX_REPEAT) {
        throw new RequestsFileError(`${where}: repeat must be x1 to x${MAX_REPEAT}, got "${words[2]}"`);
      }
    }
    planned.push({ method, path, repeat, line });
  });
  if (planned.length === 0) throw new RequestsFileError(`${name}: no requests in it (lines are "METHOD PATH [xN]")`);
  return planned;
}

/** The planned requests in the order they are sent (each line's repeats back to back). */
export function expandRequests(planned: PlannedRequest[]): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  for (const request of planned) for (let i = 0; i < request.repeat; i++) out.push({ method: request.method, path: request.path });
  return out;
}
