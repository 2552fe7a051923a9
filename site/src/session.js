// The signed-in learner and their gamification profile, shared by the user bar, the lesson pages
// and the account apps. One copy per document: Material's instant navigation keeps it.
//
// Listeners get "user" (signed in, out or changed) and "profile" (XP, level, streak) events.
// The last known user is kept in localStorage so a page loaded while the server is unreachable
// still knows who is learning (and can queue progress for them).
import { api, ApiError, ServerUnavailable } from "./api.js";
import { storage } from "./ui.js";

const USER_KEY = "drona:user";
const events = new EventTarget();

let user; // undefined: not asked yet; null: signed out; object: signed in
let userPromise = null;
let profile = null;
let profilePromise = null;
let serverUnavailable = false;

function cachedUser() {
  try {
    const saved = JSON.parse(storage.get(USER_KEY) || "null");
    return saved && typeof saved === "object" && saved.id ? saved : null;
  } catch (_err) {
    return null;
  }
}

function emit(type, detail) {
  events.dispatchEvent(new CustomEvent(type, { detail }));
}

/** The signed-in user, or null. Asks the server once per document unless refresh is set. */
export function currentUser({ refresh = false } = {}) {
  if (!refresh && user !== undefined) return Promise.resolve(user);
  if (!refresh && userPromise) return userPromise;
  userPromise = api
    .get("me")
    .then((me) => {
      serverUnavailable = false;
      setUser(me);
      return me;
    })
    .catch((err) => {
      if (err instanceof ApiError && err.status === 401) {
        serverUnavailable = false;
        setUser(null);
        return null;
      }
      // No server answered: trust the last known sign-in (progress is queued until it is back).
      serverUnavailable = err instanceof ServerUnavailable;
      const cached = cachedUser();
      if (user === undefined) {
        user = cached;
        if (cached) cached.stale = true;
      }
      return user || null;
    })
    .finally(() => {
      userPromise = null;
    });
  return userPromise;
}

/** True when the last call to the server found none (static host or offline). */
export function isServerUnavailable() {
  return serverUnavailable;
}

/** Record a sign-in, sign-out or profile change (from an API answer). */
export function setUser(next) {
  const before = user ? JSON.stringify(user) : String(user);
  user = next || null;
  if (user) storage.set(USER_KEY, JSON.stringify(user));
  else storage.remove(USER_KEY);
  if (!user) {
    profile = null;
  }
  if (before !== (user ? JSON.stringify(user) : "null")) emit("user", user);
}

/** The gamification profile of the signed-in learner, or null. */
export function currentProfile({ refresh = false } = {}) {
  if (!refresh && profile) return Promise.resolve(profile);
  if (!refresh && profilePromise) return profilePromise;
  profilePromise = currentUser()
    .then((me) => (me ? api.get("gamification/profile") : null))
    .then((p) => {
      profile = p;
      emit("profile", profile);
      return profile;
    })
    .catch((err) => {
      if (err instanceof ApiError && err.status === 401) setUser(null);
      return profile;
    })
    .finally(() => {
      profilePromise = null;
    });
  return profilePromise;
}

/** The last profile fetched, without asking the server. */
export function knownProfile() {
  return profile;
}

/** A progress event was recorded: show its total XP at once, then fetch level and streak. */
export function applyEventResult(result) {
  if (profile && typeof result.total_xp === "number" && profile.xp !== result.total_xp) {
    profile = { ...profile, xp: result.total_xp };
    emit("profile", profile);
  }
  return currentProfile({ refresh: true });
}

/** Subscribe to "user" or "profile"; returns the unsubscribe function. */
export function onSession(type, listener) {
  const handler = (event) => listener(event.detail);
  events.addEventListener(type, handler);
  return () => events.removeEventListener(type, handler);
}

/** Sign out this browser and forget the cached user. */
export async function signOut({ everywhere = false } = {}) {
  try {
    await api.post(everywhere ? "auth/logout-all" : "auth/logout");
  } finally {
    setUser(null);
  }
}

/** The effective gamification mode: full, moderate, minimal or off (off while unknown). */
export function gamificationMode(p = profile) {
  if (!p) return "off";
  return p.enabled === false ? "off" : p.mode || "full";
}
