// Calls to the Dronacharya server (the sidecar) under <root>/api/.
//
// State-changing requests carry the double-submit CSRF token: the drona_csrf cookie echoed in
// X-CSRF-Token (GET /api/auth/csrf sets the cookie when there is none).
import { urls } from "./config.js";

const CSRF_COOKIE = "drona_csrf";
const CSRF_HEADER = "X-CSRF-Token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Thrown when no Dronacharya server answers (static hosting, offline). */
export class ServerUnavailable extends Error {}

/** Thrown for a JSON error answer: {error: {code, message}}. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

async function csrfToken(refresh) {
  const existing = refresh ? "" : readCookie(CSRF_COOKIE);
  if (existing) return existing;
  const body = await request("GET", "auth/csrf");
  return (body && body.csrf_token) || readCookie(CSRF_COOKIE);
}

async function request(method, path, payload, retried = false) {
  const headers = { Accept: "application/json" };
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method)) headers[CSRF_HEADER] = await csrfToken(retried);
  let response;
  try {
    response = await fetch(urls.api + path, {
      method,
      headers,
      credentials: "same-origin",
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  } catch (_err) {
    throw new ServerUnavailable("no server answered");
  }
  let body = null;
  try {
    body = await response.json();
  } catch (_err) {
    body = null;
  }
  if (response.ok && body !== null) return body;
  const error = body && typeof body === "object" ? body.error : null;
  if (!error || typeof error !== "object") {
    // A static host answers 404/405/501 (or HTML) without our JSON error shape.
    throw new ServerUnavailable(`HTTP ${response.status}`);
  }
  if (response.status === 403 && UNSAFE.has(method) && !retried && /csrf/i.test(error.message || "")) {
    return request(method, path, payload, true); // the cookie expired or rotated: fetch a fresh one
  }
  throw new ApiError(response.status, error.code || "error", error.message || `HTTP ${response.status}`);
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, payload) => request("POST", path, payload),
};
