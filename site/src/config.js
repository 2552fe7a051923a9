// Where the site root, the Pyodide runtime, the API, our own assets and the learner pages live.
//
// Resolved once, at first load, against location.href: Material's instant navigation later
// changes location (and the relative base_url in the <meta> tags) without reloading this script.

function readMeta(name) {
  const el = document.querySelector(`meta[name="${name}"]`);
  return el ? el.getAttribute("content") : null;
}

function scriptRoot() {
  // Fallback when the template did not render the meta tags: drona.js lives in
  // <root>/assets/drona/drona.js.
  const script = document.currentScript || document.querySelector('script[src*="assets/drona/drona.js"]');
  if (script && script.src) return new URL("../../", script.src).href;
  return new URL("./", location.href).href;
}

function resolve() {
  const rootMeta = readMeta("drona-root");
  const root = rootMeta ? new URL(rootMeta, location.href).href : scriptRoot();
  let extra;
  try {
    extra = JSON.parse(readMeta("drona-config") || "{}") || {};
  } catch (_err) {
    extra = {};
  }
  const ensureSlash = (u) => (u.endsWith("/") ? u : u + "/");
  return {
    root,
    pyodide: ensureSlash(new URL(extra.pyodide || "pyodide/314.0.7/", root).href),
    api: ensureSlash(new URL(extra.api || "api/", root).href),
    assets: new URL("assets/drona/", root).href,
    snapshot: extra.snapshot ? new URL(extra.snapshot, root).href : null,
    // The learner app pages, {app: address relative to the root}, as the compiler publishes them
    // (sidecar/compiler/pages.py, APP_PAGES); format.js turns them into `pages`.
    pages: extra.pages && typeof extra.pages === "object" ? extra.pages : {},
  };
}

export const urls = resolve();
