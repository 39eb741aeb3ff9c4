// The extension's settings (extension/config.ts): each bad value refused with a message naming
// it, the defaults, and package.json declaring the same settings with the same bounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { DEEP_DIVE_SETTINGS, NUMBER_SETTINGS, SEVERITIES, readConfig } from "../../out/test-build/extension/config.js";

const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
const read = (values) => readConfig((key) => values[key]);

const bad = [
  [{ workers: 0 }, "balloon.workers must be a whole number from 1 to 256, got 0"],
  [{ workers: 2.5 }, "balloon.workers must be a whole number from 1 to 256, got 2.5"],
  [{ workers: "4" }, 'balloon.workers must be a whole number from 1 to 256, got "4"'],
  [{ threads: 300 }, "balloon.threads must be a whole number from 1 to 256, got 300"],
  [{ maxRequests: -1 }, "balloon.maxRequests must be a whole number from 0 to 1000000000, got -1"],
  [{ maxRequestsJitter: -5 }, "balloon.maxRequestsJitter must be a whole number from 0 to 1000000000, got -5"],
  [{ reloadOnRssMiB: -1 }, "balloon.reloadOnRssMiB must be a whole number from 0 to 10000000, got -1"],
  [{ memoryBudgetMiB: 1.5 }, "balloon.memoryBudgetMiB must be a whole number from 0 to 10000000, got 1.5"],
  [{ stackKiB: 32 }, "balloon.stackKiB must be a whole number from 64 to 1048576 (or 0 to leave it alone), got 32"],
  [{ timeoutSec: -0.5 }, "balloon.timeoutSec must be a number from 0 to 86400, got -0.5"],
  [{ timeoutSec: Number.NaN }, "balloon.timeoutSec must be a number from 0 to 86400, got null"],
  [{ port: 65536 }, "balloon.port must be a whole number from 0 to 65535, got 65536"],
  [{ preload: "yes" }, 'balloon.preload must be true or false, got "yes"'],
  [{ keepResultsAfterStop: 1 }, "balloon.keepResultsAfterStop must be true or false, got 1"],
  [{ "diagnostics.severity": "loud" }, 'balloon.diagnostics.severity must be one of error, warning, information, hint, got "loud"'],
  [{ app: 3 }, "balloon.app must be a string, got 3"],
  [{ "deepDive.calls": 0 }, "balloon.deepDive.calls must be a whole number from 1 to 100, got 0"],
  [{ "deepDive.calls": 101 }, "balloon.deepDive.calls must be a whole number from 1 to 100, got 101"],
  [{ "deepDive.calls": 2.5 }, "balloon.deepDive.calls must be a whole number from 1 to 100, got 2.5"],
  [{ "deepDive.frames": 201 }, "balloon.deepDive.frames must be a whole number from 1 to 200, got 201"],
  [{ "deepDive.frames": "40" }, 'balloon.deepDive.frames must be a whole number from 1 to 200, got "40"'],
];

for (const [values, message] of bad) {
  test(`settings: ${JSON.stringify(values)} is refused`, () => {
    const { errors, config } = read(values);
    assert.deepEqual(errors, [message]);
    const key = Object.keys(values)[0];
    const setting = NUMBER_SETTINGS.find((s) => s.key === key);
    if (setting) assert.equal(config.run[key], setting.default, "the default stands in for the bad value");
    const deep = DEEP_DIVE_SETTINGS.find((s) => `deepDive.${s.key}` === key);
    if (deep) assert.equal(config.deepDive[deep.key], deep.default, "the default stands in for the bad value");
  });
}

test("settings: good values pass through, unset ones take the defaults", () => {
  const { errors, config } = read({ workers: 4, stackKiB: 0, timeoutSec: 2.5, preload: true, app: " app:app ", pythonPath: "/usr/bin/python3", "diagnostics.severity": "error", keepResultsAfterStop: false, "deepDive.calls": 100 });
  assert.deepEqual(errors, []);
  assert.deepEqual(config, {
    app: "app:app",
    pythonPath: "/usr/bin/python3",
    run: { workers: 4, threads: 1, maxRequests: 0, maxRequestsJitter: 0, reloadOnRssMiB: 0, memoryBudgetMiB: 0, stackKiB: 0, timeoutSec: 2.5, port: 0, preload: true },
    severity: "error",
    keepResultsAfterStop: false,
    deepDive: { calls: 100, frames: 40 },
  });
  assert.deepEqual(read({}).config.deepDive, { calls: 5, frames: 40 }, "the deep dive's defaults: the engine's");
});

test("settings: several bad values, one message each", () => {
  assert.equal(read({ workers: 0, port: -1, "diagnostics.severity": 2 }).errors.length, 3);
});

test("package.json declares every setting with config.ts's types, bounds and defaults", () => {
  const properties = manifest.contributes.configuration.properties;
  const numbers = [...NUMBER_SETTINGS, ...DEEP_DIVE_SETTINGS.map((setting) => ({ ...setting, key: `deepDive.${setting.key}` }))];
  for (const setting of numbers) {
    const declared = properties[`balloon.${setting.key}`];
    assert.ok(declared, `balloon.${setting.key} declared`);
    assert.equal(declared.type, setting.integer ? "integer" : "number", setting.key);
    assert.equal(declared.minimum, setting.alsoAllowed?.value ?? setting.minimum, setting.key);
    assert.equal(declared.maximum, setting.maximum, setting.key);
    assert.equal(declared.default, setting.default, setting.key);
    assert.ok(declared.markdownDescription.length > 20, `${setting.key} is described`);
  }
  assert.deepEqual(properties["balloon.diagnostics.severity"].enum, [...SEVERITIES]);
  for (const key of ["app", "pythonPath", "preload", "keepResultsAfterStop"]) assert.ok(properties[`balloon.${key}`]?.markdownDescription, key);
  assert.equal(Object.keys(properties).length, numbers.length + 5, "no setting config.ts does not read");
});

test("package.json is the extension's manifest: fixed command ids, workspace kind, limited untrusted support, VS Code 1.91", () => {
  const ids = manifest.contributes.commands.map((c) => c.command);
  for (const id of ["balloon.run", "balloon.stop", "balloon.showPanel", "balloon.profileRequests", "balloon.deepDive", "balloon.exportSettings", "balloon.openRecord"]) assert.ok(ids.includes(id), id);
  assert.equal(manifest.contributes.commands.find((c) => c.command === "balloon.run").title, "Run App with Balloon");
  // The Deep dive tab's empty text names it so.
  assert.equal(manifest.contributes.commands.find((c) => c.command === "balloon.deepDive").title, "Deep Dive");
  for (const id of ["balloon.run", "balloon.deepDive"]) assert.ok(manifest.activationEvents.includes(`onCommand:${id}`), `${id} activates the extension`);
  assert.deepEqual(manifest.extensionKind, ["workspace"]);
  assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
  assert.equal(manifest.engines.vscode, "^1.91.0");
  assert.equal(manifest.main, "./dist/extension.js");
});
