// Stale private directories: only ours (marker, this user, owner gone, nothing else inside)
// are removed; look-alikes, links and live or foreign ones stay.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MARKER_FILE, SOCKET_FILE, createPrivateDir, linuxProcessFacts, removeStaleDirs } from "../../out/test-build/supervisor/private-dir.js";

const uid = process.getuid();
const MAGIC = "balloon supervisor socket directory";

/** Processes by pid: { startTime }; everything else does not exist. */
function facts(processes, bootId = "boot-a") {
  return {
    uid: () => uid,
    startTime: (pid) => processes[pid]?.startTime ?? null,
    exists: (pid) => pid in processes,
    bootId: () => bootId,
  };
}

function ourDir(parent, name, marker, { mode = 0o700 } = {}) {
  const dir = join(parent, name);
  mkdirSync(dir, { mode });
  chmodSync(dir, mode);
  if (marker) writeFileSync(join(dir, MARKER_FILE), JSON.stringify({ magic: MAGIC, uid, startTime: "100", bootId: "boot-a", ...marker }));
  return dir;
}

test("removeStaleDirs: only provably stale directories of ours go", async (t) => {
  const parent = mkdtempSync(join(tmpdir(), "balloon-dirs-"));
  const servers = [];
  t.after(() => {
    for (const server of servers) server.close();
    rmSync(parent, { recursive: true, force: true });
  });
  const listen = (path) => new Promise((resolve) => {
    const server = net.createServer().listen(path, resolve);
    servers.push(server);
  });

  const stale = ourDir(parent, "balloon-41-aaaaaa", { pid: 41 });
  await listen(join(stale, SOCKET_FILE));
  ourDir(parent, "balloon-42-bbbbbb", { pid: 42 }); // died before it listened
  ourDir(parent, "balloon-43-cccccc", { pid: 43 }); // alive
  ourDir(parent, "balloon-44-dddddd", { pid: 44 }); // pid reused by a later process
  ourDir(parent, "balloon-45-eeeeee", { pid: 45, bootId: "boot-old" }); // before the last reboot
  const lookAlike = join(parent, "balloon-99999-my-results");
  mkdirSync(lookAlike);
  writeFileSync(join(lookAlike, "important.txt"), "x");
  ourDir(parent, "balloon-46-no-marker", null);
  const userData = ourDir(parent, "balloon-47-ffffff", { pid: 47 });
  writeFileSync(join(userData, "results.csv"), "1,2\n");
  const linkedMarker = ourDir(parent, "balloon-48-gggggg", null);
  writeFileSync(join(parent, "elsewhere.json"), JSON.stringify({ magic: MAGIC, pid: 48, uid, startTime: "100", bootId: "boot-a" }));
  symlinkSync(join(parent, "elsewhere.json"), join(linkedMarker, MARKER_FILE));
  ourDir(parent, "balloon-49-hhhhhh", { pid: 49, uid: uid + 1 }); // another user's marker
  ourDir(parent, "balloon-50-iiiiii", { pid: 50, magic: "something else" });
  ourDir(parent, "balloon-51-jjjjjj", { pid: 52 }); // marker for another pid than the name
  ourDir(parent, "balloon-53-kkkkkk", { pid: 53 }, { mode: 0o755 }); // not private: not made by mkdtemp
  const target = ourDir(parent, "target-of-link", { pid: 54 });
  symlinkSync(target, join(parent, "balloon-54-llllll"));
  writeFileSync(join(parent, "balloon-55-a-file"), "not a directory");
  ourDir(parent, "balloon-56-mmmmmm", { pid: 56, startTime: null }); // off Linux: no start time, process gone
  ourDir(parent, "balloon-57-nnnnnn", { pid: 57, startTime: null }); // off Linux, alive

  const removed = removeStaleDirs(parent, facts({ 43: { startTime: "100" }, 44: { startTime: "999" }, 57: { startTime: null } })).sort();
  assert.deepEqual(removed, ["balloon-41-aaaaaa", "balloon-42-bbbbbb", "balloon-44-dddddd", "balloon-45-eeeeee", "balloon-56-mmmmmm"]);
  assert.equal(readFileSync(join(lookAlike, "important.txt"), "utf8"), "x");
  assert.ok(existsSync(join(userData, "results.csv")));
  assert.ok(existsSync(join(target, MARKER_FILE)), "a link is never followed");
  assert.ok(existsSync(join(parent, "elsewhere.json")));
  for (const kept of ["balloon-43-cccccc", "balloon-46-no-marker", "balloon-48-gggggg", "balloon-49-hhhhhh", "balloon-50-iiiiii", "balloon-51-jjjjjj", "balloon-53-kkkkkk", "balloon-54-llllll", "balloon-55-a-file", "balloon-57-nnnnnn"]) {
    assert.ok(existsSync(join(parent, kept)), `${kept} kept`);
  }
});

test("createPrivateDir: 0700, a marker naming this process, and a later run leaves it alone while we live", (t) => {
  const parent = mkdtempSync(join(tmpdir(), "balloon-dirs-"));
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const dir = createPrivateDir(parent);
  assert.match(dir, new RegExp(`/balloon-${process.pid}-[^/]+$`));
  const marker = JSON.parse(readFileSync(join(dir, MARKER_FILE), "utf8"));
  assert.equal(marker.pid, process.pid);
  assert.equal(marker.uid, uid);
  assert.equal(marker.startTime, linuxProcessFacts.startTime(process.pid));
  assert.match(marker.startTime, /^\d+$/);
  assert.deepEqual(removeStaleDirs(parent), [], "we are alive");
  assert.deepEqual(removeStaleDirs(parent, { ...linuxProcessFacts, startTime: () => "1" }), [dir.slice(parent.length + 1)], "a reused pid does not keep it");
});
