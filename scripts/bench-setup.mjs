// `npm run bench` needs wrk (the load), gunicorn (the peer) and a fresh build of Balloon.
import { spawnSync } from "node:child_process";
import { ensureSystemDeps } from "./system-deps.mjs";

if (!ensureSystemDeps(["python", "gunicorn", "wrk"])) process.exit(1);
const build = spawnSync("node", ["scripts/build.mjs"], { stdio: "inherit" });
process.exit(build.status ?? 1);
