// Framing of the supervisor ⇄ shim socket: u32 BE length of (type + payload), u8 type, payload.
// See shim-protocol.ts for the frame types.

/** Frames bigger than this are a protocol error (a response body chunk is far smaller). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export interface DecodedFrame {
  type: number;
  payload: Buffer;
}

/** Encodes one frame as a single buffer (one write per frame keeps syscalls down). */
export function encodeFrame(type: number, payload: Buffer | string): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out[4] = type;
  body.copy(out, 5);
  return out;
}

/** Encodes "JSON head \n body" frames (Request, FullResponse). */
export function encodeHeadFrame(type: number, head: unknown, body: Buffer | null): Buffer {
  const json = Buffer.from(JSON.stringify(head), "utf8");
  const bodyLength = body ? body.length : 0;
  const out = Buffer.allocUnsafe(6 + json.length + bodyLength);
  out.writeUInt32BE(json.length + 2 + bodyLength, 0);
  out[4] = type;
  json.copy(out, 5);
  out[5 + json.length] = 0x0a;
  if (body) body.copy(out, 6 + json.length);
  return out;
}

/** Splits a "JSON head \n body" payload. */
export function splitHead<T>(payload: Buffer): { head: T; body: Buffer } {
  const newline = payload.indexOf(0x0a);
  if (newline < 0) throw new Error("frame payload has no head/body separator");
  return {
    head: JSON.parse(payload.toString("utf8", 0, newline)) as T,
    body: payload.subarray(newline + 1),
  };
}

/** Body frame payload: u32 request id, bytes. */
export function splitBody(payload: Buffer): { id: number; chunk: Buffer } {
  return { id: payload.readUInt32BE(0), chunk: payload.subarray(4) };
}

/**
 * Incremental decoder: feed socket chunks, get whole frames.
 * Keeps at most one partial frame; chunks are only copied when a frame spans them.
 */
export class FrameDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer): DecodedFrame[] {
    let data: Buffer;
    if (this.pendingBytes === 0) {
      data = chunk;
    } else {
      this.pending.push(chunk);
      data = Buffer.concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const frames: DecodedFrame[] = [];
    let offset = 0;
    while (data.length - offset >= 4) {
      const length = data.readUInt32BE(offset);
      if (length < 1 || length > MAX_FRAME_BYTES) {
        throw new Error(`bad frame length ${length}`);
      }
      if (data.length - offset - 4 < length) break;
      frames.push({ type: data[offset + 4], payload: data.subarray(offset + 5, offset + 4 + length) });
      offset += 4 + length;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.pending.push(rest);
      this.pendingBytes = rest.length;
    }
    return frames;
  }
}
