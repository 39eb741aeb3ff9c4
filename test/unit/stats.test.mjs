import { test } from "node:test";
import assert from "node:assert/strict";
import { LineFit, Reservoir, addFit, emptyFit, fitR2, fitSlope, median } from "../../out/test-build/analysis/stats.js";

test("median by selection", async (t) => {
  const cases = [
    { values: [], want: Number.NaN },
    { values: [3], want: 3 },
    { values: [5, 1, 3], want: 3 },
    { values: [4, 1, 3, 2], want: 2.5 },
    { values: [7, 7, 7, 1, 7], want: 7 },
    { values: [-1, -3, 2, 10, 0, 0], want: 0 },
    { values: Array.from({ length: 10_001 }, (_, i) => (i * 7919) % 10_001), want: 5000 },
  ];
  for (const c of cases) await t.test(`${c.values.length} values`, () => assert.equal(median(c.values), c.want));
  await t.test("leaves its input alone", () => {
    const values = [3, 1, 2];
    median(values);
    assert.deepEqual(values, [3, 1, 2]);
  });
});

test("reservoir: exact up to its capacity, bounded and seeded after", () => {
  const small = new Reservoir(100);
  for (let i = 0; i < 100; i++) small.add(i);
  assert.deepEqual([small.count, small.exact, small.sample().length], [100, true, 100]);
  const sampled = (seed) => {
    const reservoir = new Reservoir(100, seed);
    for (let i = 0; i < 100_000; i++) reservoir.add(i);
    return reservoir;
  };
  const big = sampled(3);
  assert.deepEqual([big.count, big.exact, big.sample().length], [100_000, false, 100]);
  assert.deepEqual(sampled(3).sample(), big.sample(), "the same stream gives the same sample");
  // Uniform: the sample's median lands near the stream's (±10 % of the range for 100 values).
  assert.ok(Math.abs(median(big.sample()) - 50_000) < 10_000, `median ${median(big.sample())}`);
});

/** Least squares the textbook way, for comparison. */
function directFit(points) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxx = 0, sxy = 0, syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  return { slope: sxy / sxx, r2: (sxy * sxy) / (sxx * syy) };
}

test("line fit from running sums matches least squares, and pools series with an intercept each", async (t) => {
  const cases = [
    { name: "a clean line", points: [[0, 0], [1, 2], [2, 4], [3, 6]], slope: 2, r2: 1 },
    { name: "noisy", points: [[0, 0], [1, 1.2], [2, 1.9], [3, 3.3], [4, 3.8]] },
    { name: "large values (cumulative KiB of a long run)", points: Array.from({ length: 1000 }, (_, i) => [i, 1e9 + i * 1024 + (i % 3)]) },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const fit = new LineFit();
      for (const [x, y] of c.points) fit.add(x, y);
      const direct = directFit(c.points);
      assert.ok(Math.abs(fitSlope(fit.sums) - (c.slope ?? direct.slope)) < 1e-9);
      assert.ok(Math.abs(fitR2(fit.sums) - (c.r2 ?? direct.r2)) < 1e-9);
    });
  }
  await t.test("pooled: two parallel series at different heights fit one slope perfectly", () => {
    const total = emptyFit();
    for (const offset of [0, 500]) {
      const fit = new LineFit();
      for (let x = 0; x < 5; x++) fit.add(x, offset + 1.5 * x);
      addFit(total, fit.sums);
    }
    assert.deepEqual([fitSlope(total), fitR2(total), total.points], [1.5, 1, 10]);
  });
  await t.test("nothing moves: no slope, no R²", () => {
    const fit = new LineFit();
    fit.add(0, 0);
    assert.ok(Number.isNaN(fitSlope(fit.sums)) && Number.isNaN(fitR2(fit.sums)));
  });
});
