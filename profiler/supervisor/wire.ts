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

/** Body frame payload: u32 request id, bytes. */
export function splitBody(payload: Buffer): { id: number; chunk: Buffer } {
  return { id: payload.readUInt32BE(0), chunk: payload.subarray(4) };
}

/**
 * Incremental decoder: feed socket chunks, get whole frames, in time linear in the bytes
 * fed. A frame that spans chunks is gathered in a list and joined once, when its last byte
 * arrives (re-joining the partial frame on every chunk made a 64 MiB body take 19.7 s).
 * Frames that fit in one chunk are views of it, not copies.
 */
export class FrameDecoder {
  /** Pieces of the frame being gathered (its first piece starts at its length prefix). */
  private pieces: Buffer[] = [];
  private piecesBytes = 0;
  /** Total size (prefix included) of the frame being gathered; 0 while its prefix is incomplete. */
  private wanted = 0;

  push(chunk: Buffer): DecodedFrame[] {
    const frames: DecodedFrame[] = [];
    let data = chunk;
    if (this.piecesBytes > 0) {
      data = this.complete(chunk, frames);
      if (data.length === 0) return frames;
    }
    let offset = 0;
    while (data.length - offset >= 5) {
      const length = frameLength(data, offset);
      if (data.length - offset - 4 < length) break;
      frames.push({ type: data[offset + 4], payload: data.subarray(offset + 5, offset + 4 + length) });
      offset += 4 + length;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.pieces = [rest];
      this.piecesBytes = rest.length;
      this.wanted = rest.length >= 4 ? 4 + frameLength(rest, 0) : 0;
    }
    return frames;
  }

  /** Adds `chunk` to the frame being gathered; emits it when whole; returns the unused rest of `chunk`. */
  private complete(chunk: Buffer, frames: DecodedFrame[]): Buffer {
    if (this.wanted === 0) {
      // The length prefix itself was split: at most 4 bytes to join.
      const head = Buffer.concat([...this.pieces, chunk.subarray(0, 4)]);
      if (head.length < 4) {
        this.pieces = [head];
        this.piecesBytes = head.length;
        return chunk.subarray(chunk.length);
      }
      this.wanted = 4 + frameLength(head, 0);
    }
    const missing = this.wanted - this.piecesBytes;
    if (chunk.length < missing) {
      this.pieces.push(chunk);
      this.piecesBytes += chunk.length;
      return chunk.subarray(chunk.length);
    }
    this.pieces.push(chunk.subarray(0, missing));
    const frame = Buffer.concat(this.pieces, this.wanted);
    frames.push({ type: frame[4], payload: frame.subarray(5) });
    this.pieces = [];
    this.piecesBytes = 0;
    this.wanted = 0;
    return chunk.subarray(missing);
  }

  /** Bytes held for a frame not yet whole (bounded by MAX_FRAME_BYTES). */
  get buffered(): number {
    return this.piecesBytes;
  }
}

function frameLength(data: Buffer, offset: number): number {
  const length = data.readUInt32BE(offset);
  if (length < 1 || length > MAX_FRAME_BYTES) throw new Error(`bad frame length ${length}`);
  return length;
}
