// Framing of the supervisor ⇄ shim socket: u32 BE length of (type + payload), u8 type, payload.
// See shim-protocol.ts for the frame types.

/** Frames bigger than this are a protocol error (a response body chunk is far smaller). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export interface DecodedFrame {
  type: number;
  payload: Buffer;
  /** Streamed frame types only: the request id the piece belongs to (the payload is then the piece, without the id). */
  id?: number;
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

/** Bodies up to this size are copied into the frame (one write); bigger ones go as a second buffer of the same writev. */
const COPY_BODY_UP_TO_BYTES = 64 * 1024;

/** Writes a "JSON head \n body" frame without copying a big body into a new buffer. */
export function writeHeadFrame(socket: { write(data: Buffer): boolean; cork(): void; uncork(): void }, type: number, head: unknown, body: Buffer | null): void {
  if (!body || body.length <= COPY_BODY_UP_TO_BYTES) {
    socket.write(encodeHeadFrame(type, head, body));
    return;
  }
  const prefix = encodeHeadFrame(type, head, null);
  prefix.writeUInt32BE(prefix.length - 4 + body.length, 0);
  socket.cork();
  socket.write(prefix);
  socket.write(body);
  socket.uncork();
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

/**
 * Incremental decoder: feed socket chunks, get frames, in time linear in the bytes fed.
 * - A frame that spans chunks is gathered in a list and joined once, when its last byte
 *   arrives (re-joining the partial frame on every chunk made a 64 MiB body take 19.7 s).
 * - Frames of the streamed type (Body: u32 request id, bytes) are not gathered at all: each
 *   piece is handed on as it arrives, as { type, id, payload: piece }, so a response body
 *   goes to its client without a copy and without the supervisor holding it.
 * Frames and pieces that fit in one chunk are views of it, not copies.
 */
export class FrameDecoder {
  /** The first bytes of a frame whose header (length, type, and id when streamed) is not whole yet. */
  private header: Buffer | null = null;
  /** A frame being gathered: its type, payload size, and the pieces so far. */
  private gathering: { type: number; size: number; pieces: Buffer[]; bytes: number } | null = null;
  /** A streamed frame under way: its type, request id and the payload bytes still to come. */
  private streaming: { type: number; id: number; remaining: number } | null = null;

  constructor(private readonly streamedType = -1) {}

  push(chunk: Buffer): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    let data = chunk;
    if (this.header) {
      data = Buffer.concat([this.header, chunk]); // only when a header was split: < 9 bytes + one chunk
      this.header = null;
    }
    let offset = 0;
    while (offset < data.length) {
      if (this.streaming) {
        const stream = this.streaming;
        const take = Math.min(stream.remaining, data.length - offset);
        out.push({ type: stream.type, id: stream.id, payload: data.subarray(offset, offset + take) });
        stream.remaining -= take;
        offset += take;
        if (stream.remaining === 0) this.streaming = null;
        continue;
      }
      if (this.gathering) {
        offset = this.gather(data, offset, out);
        continue;
      }
      const available = data.length - offset;
      if (available < 5) break;
      const length = frameLength(data, offset);
      const type = data[offset + 4];
      if (type === this.streamedType) {
        if (length < 5) throw new Error(`frame type 0x${type.toString(16)} without a request id`);
        if (available < 9) break;
        const id = data.readUInt32BE(offset + 5);
        offset += 9;
        if (length === 5) out.push({ type, id, payload: data.subarray(offset, offset) });
        else this.streaming = { type, id, remaining: length - 5 };
        continue;
      }
      if (available - 4 >= length) {
        out.push({ type, payload: data.subarray(offset + 5, offset + 4 + length) });
        offset += 4 + length;
        continue;
      }
      this.gathering = { type, size: length - 1, pieces: [], bytes: 0 };
      offset += 5;
    }
    if (offset < data.length) this.header = Buffer.from(data.subarray(offset));
    return out;
  }

  /** Adds what `data` holds of the frame being gathered; emits it when whole; returns the new offset. */
  private gather(data: Buffer, offset: number, out: DecodedFrame[]): number {
    const frame = this.gathering as { type: number; size: number; pieces: Buffer[]; bytes: number };
    const take = Math.min(frame.size - frame.bytes, data.length - offset);
    frame.pieces.push(data.subarray(offset, offset + take));
    frame.bytes += take;
    if (frame.bytes === frame.size) {
      out.push({ type: frame.type, payload: frame.pieces.length === 1 ? frame.pieces[0] : Buffer.concat(frame.pieces, frame.size) });
      this.gathering = null;
    }
    return offset + take;
  }

  /** Bytes held for a frame not yet whole (bounded by MAX_FRAME_BYTES; streamed frames hold none). */
  get buffered(): number {
    return (this.header?.length ?? 0) + (this.gathering ? this.gathering.bytes + 5 : 0);
  }
}

function frameLength(data: Buffer, offset: number): number {
  const length = data.readUInt32BE(offset);
  if (length < 1 || length > MAX_FRAME_BYTES) throw new Error(`bad frame length ${length}`);
  return length;
}
