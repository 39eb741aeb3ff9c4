// Lint rules: typescript-eslint's recommended set, no `any`, and only extension/ may import vscode.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "out/", ".vscode-host/", "test/fixtures/", "**/*.py"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-imports": ["error", { paths: [{ name: "vscode", message: "Only extension/ may import vscode." }] }],
    },
  },
  {
    files: ["extension/**/*.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    // The webview takes nothing of the engine but protocol.ts's types (the page bundles no engine code).
    files: ["webview/**/*.ts"],
    rules: {
      "no-restricted-imports": "off",
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [{ name: "vscode", message: "Only extension/ may import vscode." }],
          patterns: [
            { group: ["**/profiler/*", "**/profiler/**/*", "!**/profiler/protocol"], message: "The webview imports only profiler/protocol.ts." },
            { group: ["**/profiler/protocol"], allowTypeImports: true, message: "The webview takes only types from profiler/protocol.ts (import type)." },
          ],
        },
      ],
    },
  },
  {
    // The bin launcher is CommonJS on purpose: it loads the bundled dist/cli.js.
    files: ["bin/*.js"],
    languageOptions: { sourceType: "commonjs", globals: { require: "readonly" } },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // The in-host suite is CommonJS on purpose: the extension host require()s it, with Mocha's globals.
    files: ["test/in-host/suite/*.js"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", exports: "writable", __dirname: "readonly", describe: "readonly", it: "readonly", before: "readonly", afterEach: "readonly" },
    },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", URL: "readonly" } },
  },
);
