// Coalesces redraws: however many messages arrive between two frames (timeline batches come 4
// times a second, reports and status beside them), the panel draws once, in the next frame.

export type RequestFrame = (callback: () => void) => unknown;

/** Returns request(): the first call in a frame schedules `draw`, later ones join it. */
export function frameCoalescer(draw: () => void, requestFrame: RequestFrame): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestFrame(() => {
      pending = false;
      draw();
    });
  };
}
