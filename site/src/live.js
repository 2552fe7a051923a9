// Live updates: XP and achievements earned in another tab, on another device, or served by another
// sidecar process, shown here as they happen.
//
// One EventSource per tab on GET /api/me/events while a learner is signed in (Material's instant
// navigation keeps the document, and with it the stream). Events (sidecar/live):
//   - `xp`: the new total, level and streak: the header follows (through the session's profile,
//     like a reward of this tab's own: session.js applyRewardTotals keeps the larger total);
//   - `achievement`: a toast, as the learner's gamification mode allows. The tab that earned it
//     toasts it from its own answer too: toasts.js shows each achievement once per tab.
// Each event has a unique id; an id seen before is ignored. When the stream breaks, the tab
// reconnects with back-off (1 s doubling to a minute, with jitter) and, once subscribed again,
// reloads the profile, which covers whatever it missed. It closes on sign-out.
// <html data-drona-live> says where it stands: connecting, open or closed.
import { urls } from "./config.js";
import { applyRewardTotals, currentProfile, currentUser, gamificationMode, knownProfile, onSession } from "./session.js";
import { announceAchievements } from "./toasts.js";

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;
const SEEN_MAX = 200;

let source = null;
let userId = null;
let started = false;
let failures = 0;
let timer = null;
let connectedOnce = false;
const seen = [];

function setState(state) {
  document.documentElement.dataset.dronaLive = state;
}

function firstTime(id) {
  if (!id) return true;
  if (seen.includes(id)) return false;
  seen.push(id);
  if (seen.length > SEEN_MAX) seen.shift();
  return true;
}

function parse(event) {
  try {
    const data = JSON.parse(event.data);
    return data && typeof data === "object" ? data : null;
  } catch (_err) {
    return null;
  }
}

function onXp(event) {
  const data = parse(event);
  if (!data || !firstTime(event.lastEventId || data.id)) return;
  // The shape of a reward's totals: the header re-renders only when something changed.
  applyRewardTotals({ enabled: true, total_xp: data.total_xp, level: data.level, level_title: data.level_title,
    level_floor_xp: data.level_floor_xp, next_level_xp: data.next_level_xp, level_progress: data.level_progress,
    streak: data.streak || null, new_achievements: [] });
}

function onAchievement(event) {
  const data = parse(event);
  if (!data || !firstTime(event.lastEventId || data.id)) return;
  const achievement = { id: data.id, title: data.title, description: data.description, earned_at: data.earned_at };
  announceAchievements([achievement], gamificationMode(knownProfile()));
}

function onReady() {
  failures = 0;
  setState("open");
  // Back after a break: whatever happened meanwhile is in the profile.
  if (connectedOnce) currentProfile({ refresh: true });
  connectedOnce = true;
}

function close() {
  if (timer) clearTimeout(timer);
  timer = null;
  if (source) source.close();
  source = null;
}

function reconnectLater() {
  close();
  failures += 1;
  const delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(failures - 1, 10));
  timer = setTimeout(async () => {
    timer = null;
    // A 401 looks like any other failure to EventSource: ask who is signed in before trying again.
    const user = await currentUser({ refresh: true });
    if (user && user.id === userId) open();
    else stop();
  }, delay / 2 + Math.random() * (delay / 2));
}

function open() {
  close();
  if (typeof window.EventSource !== "function") return;
  setState("connecting");
  source = new EventSource(urls.api + "me/events");
  source.addEventListener("ready", onReady);
  source.addEventListener("xp", onXp);
  source.addEventListener("achievement", onAchievement);
  source.addEventListener("signed_out", () => {
    stop();
    currentUser({ refresh: true });
  });
  // Our back-off rather than the browser's fixed retry (which also gives up on a 401 or 429).
  source.addEventListener("error", () => reconnectLater());
}

function stop() {
  close();
  userId = null;
  failures = 0;
  connectedOnce = false;
  setState("closed");
}

function follow(user) {
  if (user && user.id && !user.stale) {
    if (user.id === userId && (source || timer)) return;
    userId = user.id;
    connectedOnce = false;
    open();
  } else {
    stop();
  }
}

/** Start following the signed-in learner's live updates (once per document; later calls do nothing). */
export function startLive() {
  if (started) return;
  started = true;
  onSession("user", follow);
  currentUser().then(follow);
}
