// The supervisor's private directory in $TMPDIR (its Unix socket lives there), and the
// clean-up of ones a SIGKILLed supervisor left behind. A directory is removed only when it
// is provably ours: a real directory (never a link), owned by this user, mode 0700, holding
// nothing but the marker we wrote and our socket, and the marker names this user and a
// process that is gone (same pid, same start time, same boot). Anything else, such as a
// user's own `balloon-99999-results` or another user's directory, is left alone, silently.
import { closeSync, constants, fstatSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const DIR_PREFIX = "balloon-";
export const MARKER_FILE = ".balloon-owner.json";
export const SOCKET_FILE = "shim.sock";
const MAGIC = "balloon supervisor socket directory";
/** A marker is a few hundred bytes; a bigger file is not one of ours. */
const MAX_MARKER_BYTES = 4096;

interface OwnerMarker {
  magic: string;
  pid: number;
  uid: number;
  /** /proc/PID/stat start time (clock ticks since boot): tells a reused pid from ours. */
  startTime: string | null;
  bootId: string | null;
}

/** What the clean-up needs to know about processes; injected in tests. */
export interface ProcessFacts {
  uid(): number;
  /** The process's start time, or null when it does not exist (or, off Linux, cannot be told). */
  startTime(pid: number): string | null;
  exists(pid: number): boolean;
  bootId(): string | null;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

export const linuxProcessFacts: ProcessFacts = {
  uid: () => process.getuid?.() ?? -1,
  startTime(pid) {
    const stat = readOrNull(`/proc/${pid}/stat`);
    if (stat === null) return null;
    // Fields after "(comm)" start at field 3; the start time is field 22. comm may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  },
  exists(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, someone else's
    }
  },
  bootId: () => readOrNull("/proc/sys/kernel/random/boot_id")?.trim() ?? null,
};

/** Creates our directory (0700, by mkdtemp) with the marker that lets a later run clean it up. */
export function createPrivateDir(parent: string, facts: ProcessFacts = linuxProcessFacts): string {
  const dir = mkdtempSync(join(parent, `${DIR_PREFIX}${process.pid}-`));
  const marker: OwnerMarker = { magic: MAGIC, pid: process.pid, uid: facts.uid(), startTime: facts.startTime(process.pid), bootId: facts.bootId() };
  writeFileSync(join(dir, MARKER_FILE), JSON.stringify(marker), { flag: "wx", mode: 0o600 });
  return dir;
}

/** The marker, read without following a link, or null when there is none we could have written. */
function readMarker(dir: string, uid: number): OwnerMarker | null {
  let fd: number;
  try {
    fd = openSync(join(dir, MARKER_FILE), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.uid !== uid || stat.size > MAX_MARKER_BYTES) return null;
    const value = JSON.parse(readFileSync(fd, "utf8")) as Partial<OwnerMarker>;
    if (value.magic !== MAGIC || typeof value.pid !== "number" || value.uid !== uid) return null;
    return { magic: value.magic, pid: value.pid, uid: value.uid, startTime: value.startTime ?? null, bootId: value.bootId ?? null };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** The marker's process is gone: another boot, no such pid, or a pid reused by a later process. */
function ownerGone(marker: OwnerMarker, facts: ProcessFacts): boolean {
  const bootId = facts.bootId();
  if (marker.bootId && bootId && marker.bootId !== bootId) return true;
  if (!facts.exists(marker.pid)) return true;
  const startTime = facts.startTime(marker.pid);
  return marker.startTime !== null && startTime !== null && startTime !== marker.startTime;
}

/** Only the marker and our socket, nothing a user could have put there. */
function holdsOnlyOurFiles(dir: string): boolean {
  for (const name of readdirSync(dir)) {
    const stat = lstatSync(join(dir, name));
    if (name === MARKER_FILE ? !stat.isFile() : name !== SOCKET_FILE || !stat.isSocket()) return false;
  }
  return true;
}

/** Removes the directory `name` in `parent` if it is a stale one of ours; says whether it did. */
function removeIfStale(parent: string, name: string, facts: ProcessFacts): boolean {
  const named = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
  if (!named) return false;
  const dir = join(parent, name);
  const uid = facts.uid();
  try {
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o777) !== 0o700) return false;
    const marker = readMarker(dir, uid);
    if (!marker || marker.pid !== Number(named[1]) || !ownerGone(marker, facts) || !holdsOnlyOurFiles(dir)) return false;
    // File by file, then the directory: if anything else appeared meanwhile, rmdir fails and it stays.
    try {
      unlinkSync(join(dir, SOCKET_FILE));
    } catch {
      // the supervisor died before it listened
    }
    unlinkSync(join(dir, MARKER_FILE));
    rmdirSync(dir);
    return true;
  } catch {
    return false; // gone meanwhile, or not ours to read: leave it
  }
}

/** Clears what SIGKILLed supervisors of this user left in `parent`; returns the names removed. */
export function removeStaleDirs(parent: string, facts: ProcessFacts = linuxProcessFacts): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  return names.filter((name) => removeIfStale(parent, name, facts));
}
