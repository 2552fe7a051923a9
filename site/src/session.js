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

/** The signed-in user, or null. Asks the server once per document unless refresh is set.
 *
 * GET auth/session answers 200 with {user: null} when signed out, where GET me answers 401: the
 * browser logs every failed request in the console, so a signed-out visit must not make one. */
export function currentUser({ refresh = false } = {}) {
  if (!refresh && user !== undefined) return Promise.resolve(user);
  if (!refresh && userPromise) return userPromise;
  userPromise = api
    .get("auth/session")
    .then((session) => {
      const me = (session && session.user) || null;
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

/**
 * Take a reward's totals (XP, level, streak, new achievements) into the known profile and tell
 * the listeners ("profile"): rewards.js calls this for every graded answer and progress event,
 * so the header follows without asking the server again. XP only grows, so a reward older than
 * what is shown (answers may arrive out of order) leaves the totals alone. Returns the profile.
 */
export function applyRewardTotals(reward) {
  if (!profile || !reward || reward.enabled === false || typeof reward.total_xp !== "number") return profile;
  if (reward.total_xp < (profile.xp || 0)) return profile;
  const earned = new Map((reward.new_achievements || []).map((a) => [a.id, a]));
  const was = profile.streak || {};
  const now = reward.streak || was;
  if (reward.total_xp === profile.xp && reward.level === profile.level && !earned.size &&
      now.current === was.current && now.longest === was.longest) {
    return profile; // nothing new to show: no re-render (it would close an open menu)
  }
  const achievements = Array.isArray(profile.achievements) && earned.size
    ? profile.achievements.map((a) => (earned.has(a.id) ? { ...a, earned_at: earned.get(a.id).earned_at } : a))
    : profile.achievements;
  const streak = reward.streak && profile.streak
    ? { ...profile.streak, current: reward.streak.current, longest: reward.streak.longest }
    : profile.streak;
  profile = {
    ...profile,
    xp: reward.total_xp,
    level: reward.level,
    level_title: reward.level_title,
    level_floor_xp: reward.level_floor_xp,
    next_level_xp: reward.next_level_xp,
    level_progress: reward.level_progress,
    streak,
    achievements,
  };
  emit("profile", profile);
  return profile;
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
