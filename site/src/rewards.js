// Rewards, applied in one place. Every answer to POST /api/progress/events,
// /api/exercises/{id}/submissions and /api/quizzes/{id}/attempts carries a `reward`: the XP that
// request earned and where the learner stands right after it (total XP, level, streak, new
// achievements, the lesson's state). applyReward puts it everywhere it shows, without asking the
// server again:
//   - the header's level, XP and streak (through the session's profile: userbar.js re-renders);
//   - XP and achievement toasts, as the learner's gamification mode allows (toasts.js);
//   - the lesson's progress panel, which listens with onReward (lesson-progress.js).
// A replay's reward earns nothing (xp_awarded 0, no achievements), so it announces nothing.
import { applyRewardTotals, currentProfile, gamificationMode, knownProfile } from "./session.js";
import { announceAchievements, announceXp, toast } from "./toasts.js";

const events = new EventTarget();

/**
 * Apply a reward: the lesson's state at once, then the header and the toasts. `xpNote` is the
 * XP toast's line ("Lesson completed." for a progress event). Resolves when everything is shown.
 */
export async function applyReward(reward, { xpNote } = {}) {
  if (!reward || typeof reward !== "object") return;
  events.dispatchEvent(new CustomEvent("reward", { detail: reward }));
  // The header's mode comes with the profile; it is known unless the page has only just loaded.
  const profile = applyRewardTotals(reward) || (await currentProfile().then(() => applyRewardTotals(reward)));
  const mode = gamificationMode(profile || knownProfile());
  announceXp(reward.xp_awarded, mode, xpNote);
  announceAchievements(reward.new_achievements, mode);
  announceCertificates(reward.new_certificates);
}

/** A certificate just issued (Bronze, the moment its last requirement is met): shown in every mode. */
function announceCertificates(certificates) {
  if (!Array.isArray(certificates)) return;
  for (const cert of certificates) {
    const node = toast({ title: `${cert.tier_title} earned: ${cert.course_title}`,
      body: "Your certificate is issued and signed. ", tone: "achievement", celebrate: true });
    const body = node.querySelector(".drona-toast__body");
    if (body && cert.verify_url) {
      const link = document.createElement("a");
      link.href = cert.verify_url;
      link.textContent = "See its verification page";
      link.dataset.dronaVerifyLink = "";
      body.append(link);
    }
  }
}

/** Subscribe to applied rewards (listener(reward)); returns the unsubscribe function. */
export function onReward(listener) {
  const handler = (event) => listener(event.detail);
  events.addEventListener("reward", handler);
  return () => events.removeEventListener("reward", handler);
}
