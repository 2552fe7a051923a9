// Calls to the Dronacharya server (the sidecar) under <root>/api/.
//
// State-changing requests carry the double-submit CSRF token: the drona_csrf cookie echoed in
// X-CSRF-Token (GET /api/auth/csrf sets the cookie when there is none). The cookie rotates at
// sign-up and sign-in, so it is read at request time, never cached.
import { urls } from "./config.js";

const CSRF_COOKIE = "drona_csrf";
const CSRF_HEADER = "X-CSRF-Token";
const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Thrown when no Dronacharya server answers (static hosting, offline, a proxy's HTML error page). */
export class ServerUnavailable extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

/** Thrown for a JSON error answer: {error: {code, message, details}}. */
export class ApiError extends Error {
  constructor(status, code, message, details = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter; // seconds, from Retry-After (429)
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
  return readCookie(CSRF_COOKIE) || (body && body.csrf_token) || "";
}

async function request(method, path, payload, retried = false, stream = false) {
  const headers = { Accept: stream ? "text/event-stream, application/json" : "application/json" };
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method)) headers[CSRF_HEADER] = await csrfToken(retried);
  let response;
  try {
    response = await fetch(urls.api + path, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store",
      body: payload === undefined ? undefined : JSON.stringify(payload),
    });
  } catch (_err) {
    throw new ServerUnavailable("no server answered");
  }
  if (stream && response.ok) {
    // The caller reads the events (sse.js); any other 2xx is not our server.
    if (/^text\/event-stream/.test(response.headers.get("Content-Type") || "")) return response;
    throw new ServerUnavailable(`HTTP ${response.status} without an event stream`, response.status);
  }
  let body;
  try {
    body = await response.json();
  } catch (_err) {
    body = null;
  }
  // 202 and 204 answers (sign-out, password changes) have no body.
  if (response.ok && (body !== null || response.status === 204 || response.status === 202)) return body || {};
  const error = body && typeof body === "object" ? body.error : null;
  if (!error || typeof error !== "object") {
    // A static host answers 404/405/501 (or HTML) without our JSON error shape.
    throw new ServerUnavailable(`HTTP ${response.status}`, response.status);
  }
  if (response.status === 403 && UNSAFE.has(method) && !retried && /csrf/i.test(error.message || "")) {
    return request(method, path, payload, true, stream); // the cookie expired or rotated: fetch a fresh one
  }
  let retryAfter = Number(response.headers.get("Retry-After"));
  if (!Number.isFinite(retryAfter) || retryAfter <= 0) retryAfter = null;
  throw new ApiError(response.status, error.code || "error", error.message || `HTTP ${response.status}`,
    error.details === undefined ? null : error.details, retryAfter);
}

export const api = {
  get: (path) => request("GET", path),
  post: (path, payload) => request("POST", path, payload === undefined ? {} : payload),
  patch: (path, payload) => request("PATCH", path, payload),
  put: (path, payload) => request("PUT", path, payload),
  delete: (path) => request("DELETE", path),
  /** POST that answers with Server-Sent Events: the Response (read its body), or throws as above. */
  stream: (path, payload) => request("POST", path, payload === undefined ? {} : payload, false, true),
};
