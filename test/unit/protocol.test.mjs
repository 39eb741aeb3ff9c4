// The Python shim mirrors shim-protocol.ts: the same frame codes, exit codes and environment names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { BODY_CHUNK_BYTES, Frame, ExitCode, ShimEnv } from "../../out/test-build/supervisor/shim-protocol.js";
import { MAX_FRAME_BYTES } from "../../out/test-build/supervisor/wire.js";

const python = readFileSync(new URL("../../profiler/shim/balloon_shim/protocol.py", import.meta.url), "utf8");

/** `Name = value` lines inside `class Klass:` of protocol.py. */
function pythonClass(name) {
  const block = new RegExp(`^class ${name}\\b[^\\n]*:\\n((?:[ \\t]+[^\\n]*\\n|\\n)+)`, "m").exec(python);
  assert.ok(block, `class ${name} in protocol.py`);
  const entries = {};
  for (const [, key, value] of block[1].matchAll(/^\s+(\w+)\s*=\s*(0x[0-9a-fA-F]+|\d+|"[^"]*")/gm)) {
    entries[key] = value.startsWith('"') ? value.slice(1, -1) : Number(value);
  }
  return entries;
}

test("frame codes agree", () => assert.deepEqual(pythonClass("Frame"), { ...Frame }));
test("exit codes agree", () => assert.deepEqual(pythonClass("ExitCode"), { ...ExitCode }));
test("environment variable names agree", () => assert.deepEqual(pythonClass("ShimEnv"), { ...ShimEnv }));

/** A module-level `NAME = 1024 * 1024` constant of protocol.py (products of integers only). */
function pythonConstant(name) {
  const line = new RegExp(`^${name} = ([\\d *]+)$`, "m").exec(python);
  assert.ok(line, `${name} = <integer product> in protocol.py`);
  return line[1].split("*").reduce((product, factor) => product * Number(factor.trim()), 1);
}

test("size limits agree", () => {
  assert.equal(pythonConstant("BODY_CHUNK_BYTES"), BODY_CHUNK_BYTES);
  assert.equal(pythonConstant("MAX_FRAME_BYTES"), MAX_FRAME_BYTES);
  assert.ok(BODY_CHUNK_BYTES < MAX_FRAME_BYTES);
});
