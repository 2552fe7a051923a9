// ESLint for the JavaScript we own: the site's browser code (site/src, ES modules bundled by
// esbuild; worker.js runs in a Web Worker) and the Node scripts (site/tools, sidecar/sandbox).
// scripts/test runs `npx --no-install eslint` over these before pytest; findings fail the run.
// CommonJS because package.json has no "type": "module" (ESLint loads this file with require).
"use strict";

const js = require("@eslint/js");
const globals = require("globals");

const rules = {
  // `_name` marks an argument, variable or caught error that is deliberately unused.
  "no-unused-vars": ["error", {
    args: "after-used", argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_",
    ignoreRestSiblings: true,
  }],
  // alert()/confirm() only where a comment says why (eslint-disable-next-line no-alert).
  "no-alert": "error",
  "no-var": "error",
  "prefer-const": ["error", { destructuring: "all" }],
  eqeqeq: ["error", "always", { null: "ignore" }],
  "no-implicit-globals": "error",
  "no-shadow-restricted-names": "error",
  "no-use-before-define": ["error", { functions: false, classes: true, variables: false }],
};

function lint(files, sourceType, environment, ignores = []) {
  return {
    files,
    ignores,
    languageOptions: { ecmaVersion: "latest", sourceType, globals: { ...environment } },
    rules: { ...js.configs.recommended.rules, ...rules },
  };
}

module.exports = [
  { ignores: ["node_modules/", "build/", ".venv/", ".wheel-build/", "dist/", "**/_engine/"] },
  {
    linterOptions: { reportUnusedDisableDirectives: "error", reportUnusedInlineConfigs: "error" },
  },
  lint(["site/src/**/*.js"], "module", globals.browser, ["site/src/worker.js"]),
  // The Pyodide worker: a module Web Worker (self, importScripts, postMessage), no DOM.
  lint(["site/src/worker.js"], "module", globals.worker),
  lint(["site/tools/**/*.mjs", "sidecar/sandbox/**/*.mjs", "tests/js/**/*.mjs"], "module", globals.node),
  lint(["eslint.config.js"], "commonjs", globals.node),
];
