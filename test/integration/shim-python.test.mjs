// The shim's own table tests (test/shim/test_*.py: route templates, handlers behind
// decorators, framing, the accounting and its fallback), run with the interpreter the other
// shim tests use. Stdlib unittest: the shim has no dependencies, its tests neither.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { python, repoRoot } from "./helpers/frames.mjs";

test("python -m unittest test/shim", () => {
  const result = spawnSync(python, ["-m", "unittest", "discover", "-s", "test/shim", "-v"], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, PYTHONPATH: [path.join(repoRoot, "profiler/shim"), path.join(repoRoot, "test/shim")].join(path.delimiter), PYTHONDONTWRITEBYTECODE: "1" },
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /^OK$/m);
});
