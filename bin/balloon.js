#!/usr/bin/env node
// Thin launcher: the CLI is bundled by `npm run build` (also run by `npm install`) into dist/cli.js.
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const cli = join(__dirname, "..", "dist", "cli.js");
if (!existsSync(cli)) {
  process.stderr.write(`balloon: not built yet (no ${cli}); run \`npm run build\` in ${join(__dirname, "..")}\n`);
  process.exit(1);
}
require(cli);
