// Which Python runs the app (extension/interpreter.ts): the Python extension's, balloon.pythonPath, the venv, python3.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseInterpreter } from "../../out/test-build/extension/interpreter.js";

const existing = (...paths) => (p) => paths.includes(p);

const cases = [
  { name: "the Python extension's interpreter first", pythonExtension: "/opt/py/bin/python", setting: "/usr/bin/python3", exists: existing("/ws/.venv/bin/python"),
    want: { python: "/opt/py/bin/python", why: "the Python extension's interpreter" } },
  { name: "balloon.pythonPath without the Python extension", pythonExtension: null, setting: " /usr/bin/python3 ", exists: existing("/ws/.venv/bin/python"),
    want: { python: "/usr/bin/python3", why: "balloon.pythonPath" } },
  { name: "the workspace's .venv", pythonExtension: null, setting: "", exists: existing("/ws/.venv/bin/python", "/ws/venv/bin/python"),
    want: { python: "/ws/.venv/bin/python", why: "the workspace's ./.venv" } },
  { name: "the workspace's venv", pythonExtension: null, setting: "", exists: existing("/ws/venv/bin/python"),
    want: { python: "/ws/venv/bin/python", why: "the workspace's ./venv" } },
  { name: "python3, left to the engine", pythonExtension: null, setting: "", exists: existing(),
    want: { python: null, why: "python3" } },
  { name: "an empty answer from the Python extension counts as none", pythonExtension: "", setting: "", exists: existing("/ws/venv/bin/python"),
    want: { python: "/ws/venv/bin/python", why: "the workspace's ./venv" } },
];

for (const c of cases) {
  test(`interpreter: ${c.name}`, () => {
    assert.deepEqual(chooseInterpreter({ pythonExtension: c.pythonExtension, setting: c.setting, workspace: "/ws", exists: c.exists }), c.want);
  });
}
