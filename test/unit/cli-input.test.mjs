import { test } from "node:test";
import assert from "node:assert/strict";
import { OptionError, checkStack, toFramework, toSettings, toThresholds } from "../../out/test-build/options.js";
import { RequestsFileError, expandRequests, parseRequestsFile } from "../../out/test-build/requests.js";

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
