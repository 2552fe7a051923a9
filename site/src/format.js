// Formatting shared by the user bar and the account apps.
import { urls } from "./config.js";

const NUMBER = new Intl.NumberFormat("en");

export function formatNumber(n) {
  return NUMBER.format(Number(n) || 0);
}

export function plural(n, one, many) {
  return `${formatNumber(n)} ${Number(n) === 1 ? one : many || one + "s"}`;
}

/** A site-relative URL (as the API returns them, e.g. "python-developer/…/") made absolute. */
export function siteUrl(path) {
  return new URL(String(path || "").replace(/^\/+/, ""), urls.root).href;
}

/** The learner pages, from the list the compiler publishes (config.js: urls.pages): each app's URL,
 * by its name in camelCase (pages.signin(), pages.tutorHistory(), …); pages.home() is the site root. */
export const pages = { home: () => urls.root };
for (const [app, path] of Object.entries(urls.pages)) {
  pages[app.replace(/-([a-z])/g, (_m, letter) => letter.toUpperCase())] = () => siteUrl(path);
}

/** The part of a same-site address worth coming back to: path and query, and the fragment only when it
 * names something on this page (a heading, an exercise). An empty "#", or one of the theme's own
 * (#__…), or one left over from an earlier page, is dropped. Null for another site or an account page. */
export function placeOf(back = location.href) {
  const here = new URL(back, location.href);
  if (here.origin !== location.origin || here.pathname.includes("/account/")) return null;
  // The 404 page (site/overrides/404.html) is no place to come back to.
  if (here.pathname === location.pathname && document.querySelector("[data-drona-notfound]")) return null;
  let hash = "";
  if (here.hash.length > 1 && !here.hash.startsWith("#__") && here.pathname === location.pathname) {
    let id = here.hash.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch (_err) {
      id = "";
    }
    if (id && document.getElementById(id)) hash = here.hash;
  }
  return here.pathname + here.search + hash;
}

function withNext(page, back) {
  const url = new URL(page);
  const place = placeOf(back);
  if (place) url.searchParams.set("next", place);
  return url.href;
}

/** The sign-in page, returning to `back` (default: this page) afterwards. */
export function signinUrl(back = location.href) {
  return withNext(pages.signin(), back);
}

/** The sign-up page, returning to `back` (default: this page) once the account is set up. */
export function signupUrl(back = location.href) {
  return withNext(pages.signup(), back);
}

/** A place to go back to, if it stays on this site, else null (never an open redirect): a path
 * ("/…", not "//…" or "/\\…", which browsers read as another host) under the site root. */
export function safeNext(raw) {
  if (!raw || typeof raw !== "string" || !raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) {
    return null;
  }
  let url;
  try {
    url = new URL(raw, location.origin);
  } catch (_err) {
    return null;
  }
  if (url.origin !== location.origin || !url.pathname.startsWith(new URL(urls.root).pathname)) return null;
  return url.href;
}

/** ?next= of this page if it stays on this site, else null. */
export function nextUrl() {
  return safeNext(new URLSearchParams(location.search).get("next"));
}

/** `page` with ?next= when `next` (an address from safeNext/nextUrl) is given, so the place travels on. */
export function carryNext(page, next) {
  const url = new URL(page, location.href);
  if (next) {
    const target = new URL(next, location.href);
    if (target.origin === location.origin) url.searchParams.set("next", target.pathname + target.search + target.hash);
  }
  return url.href;
}

/** YYYY-MM-DD of an instant in a time zone (the learner's days are local days). */
export function localDay(date, timeZone) {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: timeZone || undefined, year: "numeric", month: "2-digit",
      day: "2-digit" }).format(date);
  } catch (_err) {
    return new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
  }
}

/** Days after an ISO date (YYYY-MM-DD) as YYYY-MM-DD, in calendar arithmetic (no time zones). */
export function addDays(isoDay, days) {
  const [y, m, d] = isoDay.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return date.toISOString().slice(0, 10);
}

export function formatDay(isoDay, options = { month: "short", day: "numeric" }) {
  const [y, m, d] = isoDay.split("-").map(Number);
  return new Intl.DateTimeFormat("en", { ...options, timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
}

export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat("en", { year: "numeric", month: "short", day: "numeric" }).format(date);
}

/** "Jan 5, 2025, 3:04 PM" in the browser's time zone; "" for a bad date. */
export function formatDateTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" }).format(date);
}

// Browsers (ICU) report some zones by their old names; show the IANA names people know.
const MODERN_ZONES = {
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Dacca": "Asia/Dhaka",
  "Asia/Thimbu": "Asia/Thimphu",
  "Asia/Ulan_Bator": "Asia/Ulaanbaatar",
  "Europe/Kiev": "Europe/Kyiv",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "America/Godthab": "America/Nuuk",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Louisville": "America/Kentucky/Louisville",
  "Africa/Asmera": "Africa/Asmara",
  "Pacific/Truk": "Pacific/Chuuk",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Enderbury": "Pacific/Kanton",
};

export function modernTimeZone(zone) {
  return MODERN_ZONES[zone] || zone;
}

/** The browser's IANA time zone. */
export function browserTimeZone() {
  try {
    return modernTimeZone(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
  } catch (_err) {
    return "UTC";
  }
}
