// An offline-safe queue of lesson progress events (POST /api/progress/events).
//
// Every event is written to localStorage first (with its client-made event_id and occurred_at),
// then sent. The server is idempotent by event_id, so sending an event twice (a lost answer, two
// tabs) is harmless. What happens to an event that was not accepted:
//   - no answer, 5xx, 408, 429: it stays queued and is retried with backoff, when the browser
//     comes back online, when the page becomes visible again, and on every page load;
//   - 401: it stays queued until the learner signs in again (as the same user);
//   - any other 4xx (409: the lesson completes only from graded work; 404: unknown lesson): it is
//     dropped, with a console warning and a "rejected" event the page can show.
// Listeners get "delivered" {item, result}, "rejected" {item, error}, "queued" {item, reason}
// and "change" (the number of queued events).
import { api, ApiError } from "./api.js";
import { storage } from "./ui.js";

const KEY = "drona:progress-queue";
const MAX_ITEMS = 500;
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;

const events = new EventTarget();
let memory = []; // when localStorage is unavailable
let flushing = null;
let again = false;
let retryTimer = null;
let failures = 0;
let blockedOnAuth = false;
let currentUserId = null;

function emit(type, detail) {
  events.dispatchEvent(new CustomEvent(type, { detail }));
}

function read() {
  const raw = storage.get(KEY);
  if (raw === null) return memory.slice();
  try {
    const items = JSON.parse(raw);
    return Array.isArray(items) ? items.filter((i) => i && typeof i.event_id === "string") : [];
  } catch (_err) {
    return [];
  }
}

function write(items) {
  memory = items.slice();
  if (items.length) storage.set(KEY, JSON.stringify(items));
  else storage.remove(KEY);
  emit("change", items.length);
}

function remove(eventId) {
  write(read().filter((i) => i.event_id !== eventId)); // re-read: another tab may have added some
}

function newEventId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function online() {
  return navigator.onLine !== false;
}

function scheduleRetry() {
  if (retryTimer !== null) return;
  failures += 1;
  const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(failures - 1, 10));
  const jitter = delay * (0.8 + Math.random() * 0.4);
  retryTimer = setTimeout(() => {
    retryTimer = null;
    flush();
  }, jitter);
}

function clearRetry() {
  if (retryTimer !== null) clearTimeout(retryTimer);
  retryTimer = null;
}

/** A retryable failure: no answer, a server error, a timeout or too many requests. */
function retryable(err) {
  if (!(err instanceof ApiError)) return true; // ServerUnavailable: offline, no server, proxy page
  return err.status >= 500 || err.status === 408 || err.status === 429;
}

async function sendOne(item) {
  const payload = { event_id: item.event_id, lesson_id: item.lesson_id, kind: item.kind };
  if (item.occurred_at) payload.occurred_at = item.occurred_at;
  return api.post("progress/events", payload);
}

async function drain() {
  for (;;) {
    const items = read();
    const next = items.find((i) => !currentUserId || !i.user_id || i.user_id === currentUserId);
    if (!next) {
      // Events queued by another account that is not signed in here: keep them for it.
      failures = 0;
      return;
    }
    try {
      const result = await sendOne(next);
      failures = 0;
      remove(next.event_id);
      emit("delivered", { item: next, result });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        blockedOnAuth = true;
        emit("queued", { item: next, reason: "signed-out" });
        return;
      }
      if (retryable(err)) {
        emit("queued", { item: next, reason: "offline" });
        scheduleRetry();
        return;
      }
      remove(next.event_id);
      console.warn("drona: progress event dropped", next, err);
      emit("rejected", { item: next, error: err });
    }
  }
}

/** Send what is queued, one event at a time, oldest first. Resolves when done or paused. */
export function flush() {
  if (blockedOnAuth) return Promise.resolve();
  if (flushing) {
    again = true;
    return flushing;
  }
  clearRetry();
  flushing = (async () => {
    do {
      again = false;
      await drain();
    } while (again && !blockedOnAuth && retryTimer === null);
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

/** Queue an event for a lesson and start sending it; returns the queued item. */
export function enqueue({ lessonId, kind, userId }) {
  const item = {
    event_id: newEventId(),
    lesson_id: lessonId,
    kind,
    occurred_at: new Date().toISOString(),
    user_id: userId || currentUserId || null,
    queued_at: Date.now(),
  };
  let items = read();
  items.push(item);
  if (items.length > MAX_ITEMS) {
    // Full (a very long time offline): drop the oldest "started" events first; completions matter.
    const started = items.filter((i) => i.kind === "started").slice(0, items.length - MAX_ITEMS);
    const drop = new Set(started.map((i) => i.event_id));
    items = items.filter((i) => !drop.has(i.event_id)).slice(-MAX_ITEMS);
  }
  write(items);
  if (!online()) emit("queued", { item, reason: "offline" });
  failures = 0; // a fresh event is worth an immediate try
  flush();
  return item;
}

/** Events still waiting, optionally only those of one lesson. */
export function pending(lessonId) {
  const items = read();
  return lessonId ? items.filter((i) => i.lesson_id === lessonId) : items;
}

/** Who is signed in (null when nobody): a sign-in unblocks events that met a 401. */
export function setQueueUser(userId) {
  const changed = userId !== currentUserId;
  currentUserId = userId || null;
  if (currentUserId && (blockedOnAuth || changed)) {
    blockedOnAuth = false;
    failures = 0;
    if (read().length) flush();
  }
}

/** Subscribe to "delivered", "rejected", "queued" or "change"; returns the unsubscribe function. */
export function onQueue(type, listener) {
  const handler = (event) => listener(event.detail);
  events.addEventListener(type, handler);
  return () => events.removeEventListener(type, handler);
}

// Retry whenever there is a reason to believe the network or the session came back.
window.addEventListener("online", () => {
  failures = 0;
  clearRetry();
  flush();
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && read().length) flush();
});
window.addEventListener("storage", (event) => {
  if (event.key === KEY) emit("change", read().length);
});

// For tests and the console.
export const progressQueue = { enqueue, flush, pending, onQueue, setQueueUser };
