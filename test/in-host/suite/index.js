// The in-host tests' entry (extensionTestsPath): VS Code's extension host calls run(); Mocha runs
// every *.test.js beside this file, with the real `vscode` API. A rejection is a failure.
const path = require("node:path");
const fs = require("node:fs");
const Mocha = require("mocha");

exports.run = function run() {
  const mocha = new Mocha({ ui: "bdd", timeout: 60_000, color: false, reporter: "spec" });
  for (const file of fs.readdirSync(__dirname).filter((name) => name.endsWith(".test.js")).sort()) mocha.addFile(path.join(__dirname, file));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} in-host test(s) failed`)) : resolve()));
  });
};
