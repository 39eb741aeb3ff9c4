// Polling until a condition holds or time runs out (shutdown waits for processes to go).

/** Resolves once `done()` is true or after `timeoutMs`, whichever comes first. */
export function waitUntil(done: () => boolean, timeoutMs: number, pollMs = 50): Promise<void> {
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const check = (): boolean => {
      if (!done() && performance.now() <= deadline) return false;
      clearInterval(timer);
      resolve();
      return true;
    };
    const timer = setInterval(check, pollMs);
    check();
  });
}
