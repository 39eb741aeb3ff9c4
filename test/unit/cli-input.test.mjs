import { test } from "node:test";
import assert from "node:assert/strict";
import { OptionError, checkStack, settingsFileOptions, toFramework, toSettings, toThresholds, withSettingsFile } from "../../out/test-build/options.js";
import { RequestsFileError, expandRequests, parseRequestsFile } from "../../out/test-build/requests.js";
import { baseRecommendation } from "./helpers/recommendations.mjs";

test("toSettings: defaults and dynamic pool", () => {
  const defaults = toSettings({});
  assert.equal(defaults.workers, 2);
  assert.equal(defaults.stackKiB, 512);
  assert.equal(defaults.threads, 1);
  assert.equal(defaults.accounting, true);
  const dynamic = toSettings({ minSpare: "1", maxSpare: "3", maxWorkers: "6" });
  assert.deepEqual([dynamic.workers, dynamic.minSpare, dynamic.maxSpare, dynamic.maxWorkers], [null, 1, 3, 6]);
});

test("toSettings: each bad value names its option", () => {
  const cases = [
    [{ workers: "two" }, /--workers needs a whole number, got "two"/],
    [{ workers: "0" }, /--workers must be between 1 and 256/],
    [{ timeout: "-1" }, /--timeout must be between 0/],
    [{ workers: "2", maxWorkers: "4" }, /either --workers N .* not both/],
    [{ minSpare: "4", maxSpare: "2" }, /--min-spare \(4\) must not exceed --max-spare \(2\)/],
    [{ reloadOnRss: "lots" }, /--reload-on-rss needs a whole number/],
  ];
  for (const [raw, message] of cases) assert.throws(() => toSettings(raw), (error) => error instanceof OptionError && message.test(error.message), JSON.stringify(raw));
  assert.throws(() => checkStack(toSettings({ stackSize: "16" })), /too small for Python/);
  assert.throws(() => toFramework("rails"), /--framework must be one of/);
});

test("parseRequestsFile: lines, repeats, comments, errors with file:line", () => {
  const planned = parseRequestsFile("# traffic\nGET /a x3\n\npost /b?x=1   # trailing comment\n", "req.txt");
  assert.deepEqual(planned, [
    { method: "GET", path: "/a", repeat: 3, line: 2 },
    { method: "POST", path: "/b?x=1", repeat: 1, line: 4 },
  ]);
  assert.equal(expandRequests(planned).length, 4);
  const bad = [
    ["GET", /req\.txt:1: expected "METHOD PATH \[xN\]"/],
    ["FETCH /a", /req\.txt:1: unknown method "FETCH"/],
    ["GET a", /req\.txt:1: the path must start with "\/"/],
    ["\nGET /a y3", /req\.txt:2: repeat must be x1 to x100000/],
    ["# nothing\n", /no requests in it/],
  ];
  for (const [text, message] of bad) assert.throws(() => parseRequestsFile(text, "req.txt"), (error) => error instanceof RequestsFileError && message.test(error.message), text);
});

test("toThresholds: NAME=VALUE overrides, each bad one named", () => {
  assert.deepEqual(toThresholds(["leakMiB=1", "balloonFraction=0.3"]), { leakMiB: 1, balloonFraction: 0.3 });
  assert.deepEqual(toThresholds(undefined), {});
  const bad = [
    ["leak=1", /NAME one of balloonMiB/],
    ["leakMiB", /needs NAME=VALUE/],
    ["leakMiB=-1", /leakMiB needs MiB ≥ 0/],
    ["balloonFraction=2", /a fraction from 0 to 1/],
    ["inflateMiB=lots", /inflateMiB needs MiB/],
  ];
  for (const [item, message] of bad) assert.throws(() => toThresholds([item]), (error) => error instanceof OptionError && message.test(error.message), item);
});

test("the adaptive budget: --max-extra N, --no-adaptive, bad values named", async () => {
  const { maxExtraOf } = await import("../../out/test-build/commands/profile.js");
  const { DEFAULT_MAX_EXTRA } = await import("../../out/test-build/analysis/adaptive.js");
  assert.equal(maxExtraOf({}), DEFAULT_MAX_EXTRA);
  assert.equal(maxExtraOf({ maxExtra: "40" }), 40);
  assert.equal(maxExtraOf({ maxExtra: "0" }), 0);
  assert.equal(maxExtraOf({ maxExtra: "40", adaptive: false }), 0);
  for (const bad of ["-1", "2.5", "", "lots"]) {
    assert.throws(() => maxExtraOf({ maxExtra: bad }), (error) => error instanceof OptionError && /--max-extra needs a whole number ≥ 0/.test(error.message), bad);
  }
});

test("--settings FILE: a recommendation's settings as options, typed options winning", () => {
  const file = (settings) => JSON.stringify(baseRecommendation(settings));
  const fixed = settingsFileOptions(file({}), "rec.json");
  assert.deepEqual(fixed, { workers: "3", threads: "1", maxRequests: "100", maxRequestsJitter: "10", reloadOnRss: "160", timeout: "30", stackSize: "512", preload: false });
  // A dynamic pool: `workers` is its ceiling.
  const dynamic = settingsFileOptions(file({ workers: 6, minSpare: 1, maxSpare: 3, preload: true }), "rec.json");
  assert.deepEqual([dynamic.workers, dynamic.maxWorkers, dynamic.minSpare, dynamic.maxSpare, dynamic.preload], [undefined, "6", "1", "3", true]);
  const settings = toSettings(withSettingsFile({}, dynamic));
  assert.deepEqual([settings.workers, settings.minSpare, settings.maxSpare, settings.maxWorkers, settings.preload], [null, 1, 3, 6, true]);

  const cases = [
    // [typed, from the file, what toSettings gets]
    [{ threads: "2" }, fixed, { threads: 2, workers: 3, maxRequests: 100 }],
    [{ workers: "5" }, dynamic, { workers: 5, minSpare: null, maxWorkers: 5 }],
    [{ maxWorkers: "8" }, fixed, { workers: null, maxWorkers: 8, minSpare: 1 }],
    [{ maxRequests: "0", reloadOnRss: undefined }, fixed, { maxRequests: 0, reloadOnRssMiB: 160 }],
    [{ preload: true }, fixed, { preload: true }],
  ];
  for (const [typed, fromFile, expected] of cases) {
    const merged = toSettings(withSettingsFile(typed, fromFile));
    for (const [key, value] of Object.entries(expected)) assert.equal(merged[key], value, `${JSON.stringify(typed)}: ${key}`);
  }
});

test("--settings FILE: a bad file says what is wrong, naming the field", () => {
  const withSettings = (settings) => JSON.stringify(baseRecommendation(settings));
  const cases = [
    ["{not json", /^--settings rec\.json: not JSON \(/],
    ["[]", /expected a recommendation of version 1 .* got version null/],
    [JSON.stringify({ ...baseRecommendation(), version: 2 }), /expected a recommendation of version 1 \(balloon recommend --format json\), got version 2/],
    [JSON.stringify({ version: 1 }), /no settings object/],
    [withSettings({ workers: 0 }), /^--settings rec\.json: settings\.workers must be between 1 and 256, got 0$/],
    [withSettings({ workers: "3" }), /settings\.workers must be a number, got "3"/],
    [withSettings({ maxRequestsJitter: -1 }), /^--settings rec\.json: settings\.maxRequestsJitter must be between 0 and/],
    [withSettings({ threads: 1.5 }), /settings\.threads needs a whole number, got "1\.5"/],
    [withSettings({ stackKiB: 16 }), /settings\.stackKiB 16 KiB is too small for Python/],
    [withSettings({ workers: 4, minSpare: 3, maxSpare: 2 }), /settings\.minSpare \(3\) must not exceed settings\.maxSpare \(2\)/],
    [withSettings({ timeoutSec: 1e9 }), /settings\.timeoutSec must be between 0 and 86400/],
    [withSettings({ preload: "yes" }), /settings\.preload must be true or false, got "yes"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => settingsFileOptions(text, "rec.json"), (error) => error instanceof OptionError && message.test(error.message), `${text.slice(0, 80)}`);
  }
});
