// Synthetic recordings for the verdict accuracy benchmark (test/bench/accuracy.mjs): apps of a
// few routes with a known behaviour each, served by 1–4 simulated workers whose RSS moves the
// way CPython's allocator was measured to move it (balloon profile of /tmp measurement apps,
// interleaved request scripts, 1/2/4 workers; figures below). Seeded: the same seed gives the
// same recordings, byte for byte.
//
// Allocator model, each part from a measured series:
// - Jitter: ±0.02 MiB on most calls, an odd ±0.1–0.3 MiB (clean leaks read 0.89–1.24 for 1 MiB).
//   RSS moves in 4 KiB pages.
// - Small-object churn of C MiB (build a list of 1–2 M short strings or 600 k dicts, drop it):
//   the worker first keeps a step of 5–15 % of C (measured 0.3–16 MiB for C = 87–124 MiB), on
//   the route's first or second call, then irregular steps of up to 1.5 MiB per 120 MiB of churn
//   until that is used up; after that the worker stops growing (measured: workers of three such
//   routes went 13 → 33 MiB in ~25 requests, then stayed at 33–35 MiB for 300 requests) and the
//   route's readings are transfers: either irregular ±1.5 MiB per 120 MiB, or (a "gainer", a dict
//   churn measured for 60 calls) a steady +0.4–1.5 MiB every call that the other routes give back
//   (their readings go to −0.12 … −0.98): here 70 % of the other calls return 30–100 % of what is
//   owed, and a gainer takes only while less than 3 steps are owed (alone, it stayed flat). The
//   gainer's cumulative retained fits a line at R² 0.998 while its worker does not grow.
// - After a churn a worker has ~0.3–1.2 MiB of free pool space: a leak's next call fills it and
//   reads ~0, and the next churn call reads that much more (ARCHITECTURE.md: "a leak's first call
//   after a balloon can read ~0 ... a balloon that follows a leak can read +1 MiB").
// - Small-object leaks are sometimes read in whole 1 MiB arenas (0, 1, 0, 1 for 0.5 MiB a call).
// - Big bytes buffers follow glibc's dynamic mmap threshold (measured with /usr/bin/python3,
//   `b"y" * (20 << 20)` then del, three times: RSS after +0, +20, +20 MiB, peaks 20, 20, 0; 40 MiB
//   unmapped every time): a buffer over the worker's threshold is mmapped and given back, and if
//   it is at most 32 MiB the threshold rises to its size; one under the threshold comes from the
//   heap, which it grows by what the free heap lacks and which keeps that once freed (the trim
//   threshold rises to twice the buffer). So a bytes balloon over 32 MiB gives everything back
//   and leaves no holes; one under it gives back its first call in a worker, keeps its second,
//   and is reused after; and a worker whose threshold another route raised keeps it on its first.
// - What a call keeps is there at its peak too: a balloon that leaks peaks at both.
// - Threads (30 % of the apps, 2 or 4 threads, 30–90 % of the calls overlapping): a call that
//   overlapped another (concurrent > 1) reads the other's memory too: its peak is the higher of
//   the two and its retained includes the other call's; the adaptive phase's calls run alone.
// An app is the route under test and 1–3 others (70 % ok, else a bytes or a churn balloon), each
// called 6–24 times in a shuffled order, each call in a random one of the 1–4 workers.
// Magnitudes are drawn log-uniform from 1.5× the flag threshold in force (so the truth is not a
// coin toss at the bar) up to 500 MiB (balloons), 300 MiB (inflations), 8 MiB per call (leaks).
// A leak on a small-object churn is drawn at least 1.5 % of the churn per call: below that it is
// inside what the churn itself moves per call (above), and no series of calls can tell them apart.

const KIB = 1024;

/** mulberry32: small, fast, good enough for a benchmark, and seedable. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.uniform = (lo, hi) => lo + (hi - lo) * next();
  next.logUniform = (lo, hi) => Math.exp(next.uniform(Math.log(lo), Math.log(hi)));
  next.int = (lo, hi) => Math.floor(next.uniform(lo, hi + 1));
  next.pick = (list) => list[Math.floor(next() * list.length)];
  next.chance = (p) => next() < p;
  next.normal = (sd) => sd * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  return next;
}

/** The behaviour classes and the flags each must get. */
export const CLASSES = {
  ok: [],
  balloon: ["balloon"],
  "churn balloon": ["balloon"],
  // One route template, calls of mixed sizes (graphite-web's /render: 3 of 15 calls peaked 229 MiB,
  // the median 2.6): a share of the calls balloon, the others are small.
  "mixed balloon": ["balloon"],
  inflates: ["inflates"],
  "noisy inflation": ["balloon", "inflates"],
  leak: ["leak"],
  "balloon+leak": ["balloon", "leak"],
  "inflates+leak": ["inflates", "leak"],
  // A body up to 32 MiB: the allocator keeps its freed buffer resident from the second call.
  "heap balloon": ["balloon"],
};

const DEFAULT_LIMITS = { balloonMiB: 8, balloonFraction: 0.25, inflateMiB: 4, inflateFraction: 0.1, leakMiB: 0.5, leakFraction: 0.01 };

function limitsFor(baselineMiB) {
  const t = DEFAULT_LIMITS;
  return {
    balloon: Math.max(t.balloonMiB, t.balloonFraction * baselineMiB),
    inflate: Math.max(t.inflateMiB, t.inflateFraction * baselineMiB),
    leak: Math.max(t.leakMiB, t.leakFraction * baselineMiB),
  };
}

/** One route's planted behaviour: sizes in MiB (0: none). */
function behaviourOf(cls, r, limits) {
  const b = { cls, truth: CLASSES[cls], bytes: 0, churn: 0, gainer: false, inflate: 0, leak: 0, quantized: false, peakOk: 0, bigShare: 1 };
  const balloonSize = () => r.logUniform(1.5 * limits.balloon, 500);
  const leakSize = (floor = 0) => r.logUniform(Math.max(1.5 * limits.leak, floor), Math.max(8, 1.5 * floor));
  switch (cls) {
    case "ok":
      b.peakOk = r.uniform(0, 1.2);
      break;
    case "balloon":
      b.bytes = balloonSize();
      break;
    case "mixed balloon":
      b.bytes = balloonSize();
      b.bigShare = r.uniform(0.2, 0.45);
      b.peakOk = r.uniform(0, 1.2);
      break;
    case "churn balloon":
      b.churn = r.logUniform(Math.max(20, 1.5 * limits.balloon), 500);
      b.gainer = r.chance(0.35);
      break;
    case "inflates":
      b.inflate = r.logUniform(1.5 * limits.inflate, 300);
      break;
    case "heap balloon":
      b.bytes = r.logUniform(Math.min(1.5 * limits.balloon, 24), GLIBC_MMAP_THRESHOLD_MAX_MIB);
      break;
    case "noisy inflation":
      b.churn = r.logUniform(Math.max(20, 1.5 * limits.balloon), 200);
      b.gainer = r.chance(0.35);
      // At least 2.5× the most a churn of that size was measured to keep on its first calls (15 %).
      b.inflate = r.logUniform(Math.max(1.5 * limits.inflate, 0.4 * b.churn), 300);
      break;
    case "leak":
      b.leak = leakSize();
      b.quantized = r.chance(0.3);
      break;
    case "balloon+leak":
      if (r.chance(0.5)) {
        b.bytes = balloonSize();
        b.leak = leakSize();
      } else {
        b.churn = r.logUniform(Math.max(20, 1.5 * limits.balloon), 500);
        b.gainer = r.chance(0.35);
        b.leak = leakSize(0.015 * b.churn);
      }
      break;
    case "inflates+leak":
      b.inflate = r.logUniform(1.5 * limits.inflate, 300);
      b.leak = leakSize();
      b.quantized = r.chance(0.3);
      break;
    default:
      throw new Error(`unknown class ${cls}`);
  }
  return b;
}

/** glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit: buffers over it are always mmapped. */
const GLIBC_MMAP_THRESHOLD_MAX_MIB = 32;

/** A buffer of `size` MiB allocated and freed in a worker: what its RSS shows (see the model above). */
function bigBuffer(worker, size) {
  if (size > worker.mmapThresholdMiB || size > GLIBC_MMAP_THRESHOLD_MAX_MIB) {
    if (size <= GLIBC_MMAP_THRESHOLD_MAX_MIB) worker.mmapThresholdMiB = size;
    return { peak: size, retained: 0 };
  }
  const grown = Math.max(0, size - worker.heapFreeMiB);
  worker.heapFreeMiB += grown;
  return { peak: grown, retained: grown };
}

/**
 * A simulated app: the routes, the workers and their allocator state; call() appends one
 * RequestLine (and the lines before it) to `lines` and returns it.
 */
export class SimulatedApp {
  constructor(seed, targetClass) {
    const r = (this.r = rng(seed));
    this.t = 1_700_000_000_000;
    this.bigSolo = [];
    const workerCount = r.int(1, 4);
    this.threads = r.chance(0.3) ? r.pick([2, 4]) : 1;
    this.sharedShare = this.threads > 1 ? r.uniform(0.3, 0.9) : 0;
    const baseline = r.uniform(15, 60);
    const limits = (this.limits = limitsFor(baseline));
    this.jitterSd = r.uniform(0.01, 0.04);
    this.routes = [{ method: "GET", route: "/target/<int:id>", behaviour: behaviourOf(targetClass, r, limits) }];
    const others = r.int(1, 3);
    for (let i = 0; i < others; i++) {
      const cls = r.chance(0.7) ? "ok" : r.pick(["balloon", "churn balloon"]);
      this.routes.push({ method: "GET", route: `/other${i}`, behaviour: behaviourOf(cls, r, limits) });
    }
    this.lines = [
      { type: "start", version: 1, t: this.t, run: { target: "app:app", cwd: "/srv", python: "/usr/bin/python3", framework: "wsgi" }, settings: settings(workerCount, this.threads) },
    ];
    this.workers = [];
    for (let id = 1; id <= workerCount; id++) {
      const rssMiB = baseline + r.uniform(-2, 2);
      const worker = { id, pid: 1000 + id, seq: 0, rssKiB: Math.round(rssMiB * KIB), hole: 0, debt: 0, regrow: 0, state: new Map(), mmapThresholdMiB: 0.125, heapFreeMiB: 0 };
      this.workers.push(worker);
      this.lines.push({ type: "worker", t: this.tick(), event: "ready", worker: id, pid: worker.pid, rssKiB: worker.rssKiB });
    }
  }

  tick(ms = 7) {
    this.t += ms;
    return this.t;
  }

  /** Calls of each route in a random interleaving, `perRoute` calls of each. */
  schedule(perRoute) {
    const calls = this.routes.flatMap((_, index) => Array.from({ length: perRoute[index] }, () => index));
    for (let i = calls.length - 1; i > 0; i--) {
      const j = Math.floor(this.r() * (i + 1));
      [calls[i], calls[j]] = [calls[j], calls[i]];
    }
    return calls;
  }

  /** One request of route `index` in a random worker; `solo` forbids thread overlap (the adaptive phase sends one per worker). */
  call(index, { solo = false } = {}) {
    const r = this.r;
    const worker = r.pick(this.workers);
    const route = this.routes[index];
    const own = this.trueFigures(worker, index);
    const shared = !solo && this.threads > 1 && r.chance(this.sharedShare);
    let { peak, retained } = own;
    let concurrent = 1;
    if (shared) {
      // Overlapping calls share every figure: the other call's peak and what it kept show here too.
      const other = this.routes[r.int(0, this.routes.length - 1)].behaviour;
      concurrent = r.int(2, this.threads);
      peak = Math.max(peak, Math.max(other.bytes, other.churn, other.inflate * 0.3) * r.uniform(0.5, 1)) + r.uniform(0, 1);
      retained += other.leak + (r.chance(0.2) ? other.inflate : 0) + r.normal(0.5);
    }
    const before = worker.rssKiB;
    worker.rssKiB += Math.round(own.retained * KIB);
    worker.seq += 1;
    const line = {
      type: "request", t: this.tick(), worker: worker.id, pid: worker.pid, seq: worker.seq, method: route.method,
      path: route.route.replace("<int:id>", String(r.int(1, 99))), route: route.route,
      handler: { qualname: `views.r${index}`, file: "views.py", line: 10 + index }, status: 200, outcome: "ok",
      durationMs: 5 + peak / 10, concurrent,
      rssBeforeKiB: before,
      peakKiB: before + Math.round(Math.max(peak, retained, 0) * KIB),
      rssAfterKiB: before + Math.round(retained * KIB),
    };
    this.lines.push(line);
    if (own.big && !shared) this.bigSolo[index] = (this.bigSolo[index] ?? 0) + 1;
    return line;
  }

  /** Calls of route `index` that ballooned and ran alone: what a mixed route shows of itself. */
  bigSoloRepeats(index) {
    return this.bigSolo[index] ?? 0;
  }

  /** What the call really does to the worker's RSS, MiB. */
  trueFigures(worker, index) {
    const r = this.r;
    const b = this.routes[index].behaviour;
    let st = worker.state.get(index);
    if (!st) {
      st = { calls: 0, budget: b.churn * r.uniform(0.05, 0.15), arenaCarry: 0, firstStepShare: r.chance(0.6) ? r.uniform(0.6, 1) : r.uniform(0, 0.2) };
      worker.state.set(index, st);
    }
    const first = st.calls === 0;
    st.calls += 1;
    let retained = 0;
    let peak = b.peakOk;
    let gaining = false;
    /** A call of a mixed route that ballooned. */
    let big = false;
    if (b.churn > 0 && !(b.inflate > 0 && first)) {
      const step = this.churnStep(worker, st, b);
      gaining = step > 0;
      retained += step + worker.regrow;
      worker.regrow = 0;
      worker.hole = r.uniform(0.3, 1.2);
      peak = Math.max(peak, b.churn * r.uniform(0.97, 1.03) + b.leak);
    } else if (b.bytes > 0 && (b.bigShare >= 1 || r.chance(b.bigShare))) {
      // What the call keeps is there at the peak too: a balloon that leaks peaks at both.
      const buffer = bigBuffer(worker, b.bytes * r.uniform(0.99, 1.01));
      peak = Math.max(peak, buffer.peak + b.leak);
      retained += buffer.retained;
      big = buffer.peak >= 0.5 * b.bytes;
      if (first) retained += r.uniform(0, 0.3);
    }
    if (b.inflate > 0 && first) {
      retained += b.inflate;
      peak = Math.max(peak, b.inflate * r.uniform(1, 1.5));
    }
    if (b.leak > 0) {
      let kept = b.leak;
      const absorbed = Math.min(worker.hole, kept * r.uniform(0.7, 1));
      if (absorbed > 0 && r.chance(0.5)) {
        kept -= absorbed;
        worker.hole -= absorbed;
        worker.regrow += absorbed;
      }
      if (b.quantized) {
        // Read in whole arenas: the carry keeps the sum right.
        st.arenaCarry += kept;
        kept = Math.floor(st.arenaCarry);
        st.arenaCarry -= kept;
      }
      retained += kept;
      peak = Math.max(peak, retained + r.uniform(0, 0.2));
    }
    if (b.cls === "ok" && first && r.chance(0.5)) retained += r.uniform(0, 2); // imports, caches
    if (!gaining && worker.debt > 0.05 && r.chance(0.7)) {
      // The other routes give the transfer back (measured: four routes at −0.12 … −0.98 MiB kept a
      // worker flat while one claimed +1.1 MiB a call): a share of what is owed, so it stays bounded.
      const back = worker.debt * r.uniform(0.3, 1);
      worker.debt -= back;
      retained -= back;
    }
    retained += r.normal(this.jitterSd) + (r.chance(0.04) ? r.uniform(-0.3, 0.3) : 0);
    return { peak: Math.max(peak, 0), retained, big };
  }

  churnStep(worker, st, b) {
    const r = this.r;
    const scale = b.churn / 120; // steps of up to 1.5 MiB at a 120 MiB churn
    if (st.budget > 0.05) {
      let step;
      if (st.calls === 1) step = st.budget * st.firstStepShare;
      else if (st.calls === 2) step = st.budget * r.uniform(0.3, 1);
      else step = r.chance(0.6) ? Math.min(st.budget, r.uniform(0, 1.5) * scale) : 0;
      st.budget -= step;
      return step;
    }
    // A gainer only takes what other routes gave back: alone (nothing owed yet) it stays flat, as
    // the measured dict churn did when called on its own (+6.7 MiB over its first 10 calls, then 0).
    if (b.gainer && worker.debt < 3 * scale) {
      const gain = r.uniform(0.4, 1.5) * scale;
      worker.debt += gain;
      return gain;
    }
    if (!r.chance(0.5)) return 0;
    let step = r.uniform(-1.5, 1.5) * scale;
    if (step < 0) step = -Math.min(-step, worker.debt);
    worker.debt += step;
    return step;
  }

  /** Each worker's first call of the route: whether it ran alone and what it kept (MiB). */
  firstCalls(index) {
    const route = this.routes[index].route;
    const seen = new Set();
    const firsts = [];
    for (const line of this.lines) {
      if (line.type !== "request" || line.route !== route || seen.has(line.worker)) continue;
      seen.add(line.worker);
      firsts.push({ solo: line.concurrent === 1, retainedMiB: (line.rssAfterKiB - line.rssBeforeKiB) / KIB });
    }
    return firsts;
  }

  /** A marker line like the one `balloon profile` writes before its adaptive calls. */
  markAdaptive(routes) {
    this.lines.push({ type: "phase", t: this.tick(), phase: "adaptive", routes });
  }
}

function settings(workers, threads) {
  return {
    workers, minSpare: null, maxSpare: null, maxWorkers: workers, threads, maxRequests: 0, maxRequestsJitter: 0,
    reloadOnRssMiB: 0, memoryBudgetMiB: 0, timeoutSec: 30, stackKiB: 512, preload: false, accounting: true,
    queueSize: 128, maxBodyMiB: 10, pssIntervalSec: 1,
  };
}
