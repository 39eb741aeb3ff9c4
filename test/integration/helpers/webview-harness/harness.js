// Loaded before the panel's script (nonce'd like it, never inline): stands in for VS Code's webview
// host and gives the tests and the benchmark their hooks.
// - acquireVsCodeApi(): postMessage is recorded; getState/setState live in sessionStorage, so a
//   reload restores what the panel saved, as VS Code does for a hidden or restored panel.
// - CSP violations and errors are collected from the start.
// - makeTimeline() builds big timelines inside the page (no 100k points through the driver), and
//   timeMessage() posts a message and resolves when a chart has drawn it (whenRendered: any cause).
(() => {
  const STATE_KEY = "balloon-harness-state";
  const harness = {
    posted: [],
    violations: [],
    errors: [],
    send(message) {
      window.postMessage(message, "*");
    },
    /** Resolves once the chart named `chart` ("timeline", "routes") draws, with the time since this call. */
    whenRendered(chart, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const start = performance.now();
        const timer = setTimeout(() => reject(new Error(`no ${chart} chart drawn within ${timeoutMs} ms`)), timeoutMs);
        const onRendered = (event) => {
          if (event.detail.chart !== chart) return;
          const drawnMs = performance.now() - start;
          document.removeEventListener("balloon-rendered", onRendered);
          // The frame after the draw: when the canvas is on screen.
          requestAnimationFrame(() => setTimeout(() => {
            clearTimeout(timer);
            resolve({ drawnMs, shownMs: performance.now() - start, ...event.detail });
          }));
        };
        document.addEventListener("balloon-rendered", onRendered);
      });
    },
    /** Posts `message`; resolves once `chart` has drawn it (timed from just before the post). */
    timeMessage(message, chart) {
      const rendered = harness.whenRendered(chart);
      harness.send(message);
      return rendered;
    },
    /**
     * Live traffic: `batches` timeline batches of `ticks` instants each, one every `everyMs`
     * (the server sends at most 4 a second), from `fromTick`. Resolves with how many times the
     * timeline was drawn and the frame intervals seen meanwhile (a long one is a visible stall).
     */
    stream({ batches, everyMs, ticks, fromTick, ...timeline }) {
      return new Promise((resolve) => {
        let draws = 0;
        const frames = [];
        let last = performance.now();
        let running = true;
        const onFrame = (now) => {
          frames.push(now - last);
          last = now;
          if (running) requestAnimationFrame(onFrame);
        };
        requestAnimationFrame(onFrame);
        const onRendered = (event) => { if (event.detail.chart === "timeline") draws++; };
        document.addEventListener("balloon-rendered", onRendered);
        let sent = 0;
        const timer = setInterval(() => {
          harness.send({ type: "timeline", batch: harness.makeTimeline({ ...timeline, fromTick: fromTick + sent * ticks, ticks }) });
          if (++sent < batches) return;
          clearInterval(timer);
          setTimeout(() => {
            running = false;
            document.removeEventListener("balloon-rendered", onRendered);
            resolve({ draws, frames });
          }, 300);
        }, everyMs);
      });
    },
    /** Posts `count` batches in one go (a backlog arriving at once); resolves with the draws they caused. */
    burst({ count, ticks, fromTick, ...timeline }) {
      let draws = 0;
      const onRendered = (event) => { if (event.detail.chart === "timeline") draws++; };
      document.addEventListener("balloon-rendered", onRendered);
      for (let i = 0; i < count; i++) harness.send({ type: "timeline", batch: harness.makeTimeline({ ...timeline, fromTick: fromTick + i * ticks, ticks }) });
      return new Promise((resolve) => setTimeout(() => {
        document.removeEventListener("balloon-rendered", onRendered);
        resolve({ draws });
      }, 500));
    },
    /**
     * A timeline as the engine batches it: `ticks` sampling instants 250 ms apart from `fromTick`,
     * one sample per worker each; each worker grows a little per tick and is recycled (new pid,
     * back to its baseline) every `recycleEvery` ticks; worker 3 crashes at `crashAt`, worker 2
     * times out at `timeoutAt`; `spike` puts one sample far above the rest.
     */
    makeTimeline({ sessionId = "s1", fromTick = 0, ticks, workers = 4, recycleEvery = 2500, crashAt = -1, timeoutAt = -1, spike = null, budgetMiB = 0, t0 = 1_767_000_000_000 }) {
      const samples = [];
      const events = [];
      for (let tick = fromTick; tick < fromTick + ticks; tick++) {
        const t = t0 + tick * 250;
        for (let worker = 1; worker <= workers; worker++) {
          const phase = (tick + worker * 397) % recycleEvery;
          const generation = Math.floor((tick + worker * 397) / recycleEvery);
          const pid = 1000 + worker * 100 + generation;
          if (phase === 0 && tick > 0) {
            events.push({ t: t - 1, worker, pid: pid - 1, kind: "recycle", detail: `max-requests: served ${recycleEvery} requests` });
            events.push({ t, worker, pid, kind: "ready", detail: "" });
          }
          if (worker === 3 && tick === crashAt) events.push({ t: t - 2, worker, pid, kind: "crash", detail: "killed by signal 9 (SIGKILL) — out of memory?" });
          if (worker === 2 && tick === timeoutAt) events.push({ t: t - 3, worker, pid, kind: "timeout", detail: "GET /slow ran over the 30 s timeout" });
          const balloon = (tick * 7 + worker * 13) % 997 === 0 ? 60 : 0;
          let rssMiB = 38 + worker * 6 + phase * 0.04 + balloon + Math.sin(tick / 9 + worker) * 1.5;
          if (spike && worker === spike.worker && tick === spike.tick) rssMiB = spike.rssMiB;
          samples.push({ t, worker, pid, rssKiB: Math.round(rssMiB * 1024) });
        }
      }
      return { sessionId, samples, events, budgetMiB };
    },
  };
  window.__harness = harness;
  document.addEventListener("securitypolicyviolation", (event) => {
    harness.violations.push({ directive: event.violatedDirective, blocked: event.blockedURI, sample: event.sample, source: event.sourceFile, line: event.lineNumber });
  });
  window.addEventListener("error", (event) => harness.errors.push(String(event.message)));
  window.addEventListener("unhandledrejection", (event) => harness.errors.push(String(event.reason)));

  let acquired = false;
  window.acquireVsCodeApi = () => {
    // VS Code allows one call per page.
    if (acquired) throw new Error("acquireVsCodeApi may be called once");
    acquired = true;
    return {
      postMessage(message) {
        harness.posted.push(JSON.parse(JSON.stringify(message)));
      },
      getState() {
        const saved = sessionStorage.getItem(STATE_KEY);
        return saved === null ? undefined : JSON.parse(saved);
      },
      setState(state) {
        sessionStorage.setItem(STATE_KEY, JSON.stringify(state));
        return state;
      },
    };
  };
})();
