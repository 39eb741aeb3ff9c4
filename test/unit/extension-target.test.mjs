// Which app "Run App with Balloon" runs (extension/target.ts), table-driven over small fake workspaces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { detectTarget } from "../../out/test-build/extension/target.js";

const WS = "/ws";

/** A fake workspace: path → file content (directories are implied). */
function files(tree) {
  return {
    exists: (p) => Object.keys(tree).some((file) => file === p || file.startsWith(`${p}/`)),
    list: (dir) => [...new Set(Object.keys(tree).filter((file) => file.startsWith(`${dir}/`)).map((file) => file.slice(dir.length + 1).split("/")[0]))],
    read: (p) => tree[p] ?? null,
  };
}

const FLASK = "from flask import Flask\n\napp = Flask(__name__)\n";
const PLAIN = "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'']\n";

const cases = [
  { name: "balloon.app module:callable", setting: "shop.web:app", tree: {}, found: { target: "shop.web:app", cwd: WS, framework: "auto" } },
  { name: "balloon.app a Django directory", setting: "site", tree: { "/ws/site/manage.py": "" }, found: { target: ".", cwd: "/ws/site", framework: "django" } },
  { name: "balloon.app an absolute Django directory", setting: "/srv/site", tree: { "/srv/site/manage.py": "" }, found: { target: ".", cwd: "/srv/site", framework: "django" } },
  { name: "balloon.app a directory without manage.py", setting: "site", tree: {}, none: /balloon\.app "site": no manage\.py in \/ws\/site/ },
  { name: "balloon.app with two colons", setting: "a:b:c", tree: {}, none: /balloon\.app "a:b:c" is not module:callable/ },
  { name: "the setting wins over what is found", setting: "other:application", tree: { "/ws/app.py": FLASK }, found: { target: "other:application", cwd: WS, framework: "auto" } },
  { name: "manage.py at the top", setting: "", tree: { "/ws/manage.py": "", "/ws/app.py": FLASK }, found: { target: ".", cwd: WS, framework: "django" } },
  { name: "one Flask app", setting: "", tree: { "/ws/app.py": FLASK, "/ws/util.py": "x = 1\n" }, found: { target: "app:app", cwd: WS, framework: "flask" } },
  { name: "a Flask app under another name", setting: "", tree: { "/ws/server.py": "import flask\nweb = flask.Flask('x')\n" }, found: { target: "server:web", cwd: WS, framework: "flask" } },
  { name: "a plain WSGI function", setting: "", tree: { "/ws/wsgi.py": PLAIN }, found: { target: "wsgi:application", cwd: WS, framework: "wsgi" } },
  { name: "an application assignment", setting: "", tree: { "/ws/main.py": "from x import make\napplication = make()\n" }, found: { target: "main:application", cwd: WS, framework: "auto" } },
  { name: "a Pyramid app", setting: "", tree: { "/ws/app.py": "config = Configurator()\napp = config.make_wsgi_app()\n" }, found: { target: "app:app", cwd: WS, framework: "pyramid" } },
  { name: "an indented app = Flask is not module level", setting: "", tree: { "/ws/app.py": "def make():\n    app = Flask(__name__)\n" }, none: /no WSGI app found in \/ws/ },
  { name: "a file name that is no module", setting: "", tree: { "/ws/my-app.py": FLASK }, none: /no WSGI app found/ },
  { name: "a huge file is not read", setting: "", tree: { "/ws/app.py": FLASK + "#".repeat(600 * 1024) }, none: /no WSGI app found/ },
  { name: "nothing at all", setting: null, tree: {}, none: /set "balloon\.app" to module:callable/ },
];

for (const c of cases) {
  test(`target: ${c.name}`, () => {
    const result = detectTarget(WS, c.setting, files(c.tree));
    if (c.found) {
      assert.equal(result.kind, "found", JSON.stringify(result));
      assert.deepEqual(result.candidate.app, c.found);
    } else {
      assert.equal(result.kind, "none", JSON.stringify(result));
      assert.match(result.message, c.none);
    }
  });
}

test("target: several apps → ask, each labelled with its file and kind", () => {
  const result = detectTarget(WS, "", files({ "/ws/app.py": FLASK, "/ws/wsgi.py": PLAIN }));
  assert.equal(result.kind, "ask");
  assert.deepEqual(result.candidates.map((c) => [c.app.target, c.label]), [["app:app", "app:app (Flask, app.py)"], ["wsgi:application", "wsgi:application (WSGI, wsgi.py)"]]);
});
