// `npm run demo`: builds Balloon, then profiles the bundled example shop (standard library
// only) with its request script: prints the per-route table and writes a JSON report.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const shop = join(root, "examples", "shop");
const out = join(root, "demo-out");
mkdirSync(out, { recursive: true });

const run = (command, args) => {
  const result = spawnSync(command, args, { stdio: "inherit", cwd: root });
  if (result.status !== 0) process.exit(result.status || 1);
};

run("node", ["scripts/build.mjs"]);
process.stdout.write(`\nProfiling the example shop (${shop}) with 2 workers…\n\n`);
run("node", [
  "bin/balloon.js", "profile",
  "--app", "app:application",
  "--cwd", shop,
  "--requests", join(shop, "requests.txt"),
  "--report", join(out, "report.json"),
  "--record", join(out, "recording.jsonl"),
]);
process.stdout.write(`\nNext: node bin/balloon.js report ${join("demo-out", "recording.jsonl")}  (the same table from the recording)\n`);
