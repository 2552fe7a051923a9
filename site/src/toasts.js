// Toasts: achievements earned and XP gained, announced politely (role=status, aria-live).
// In gamification mode "full" an achievement gets a small CSS celebration; "moderate" and
// "minimal" show it plainly, "off" shows nothing. prefers-reduced-motion stops every animation.
import { el } from "./ui.js";

const SHOW_MS = 6000;
let region = null;

function ensureRegion() {
  if (region && region.isConnected) return region;
  region = el("div", {
    class: "drona-toasts",
    role: "status",
    "aria-live": "polite",
    "aria-atomic": "false",
    "aria-label": "Notifications",
  });
  document.body.append(region);
  return region;
}

function dismiss(toast) {
  if (toast._timer) clearTimeout(toast._timer);
  toast.remove();
}

/** Show a toast; returns its element. */
export function toast({ title, body, tone = "info", celebrate = false }) {
  const host = ensureRegion();
  const close = el("button", { type: "button", class: "drona-toast__close", "aria-label": "Dismiss" }, "×");
  const node = el(
    "div",
    { class: `drona-toast drona-toast--${tone}${celebrate ? " drona-toast--celebrate" : ""}` },
    celebrate ? el("span", { class: "drona-confetti", "aria-hidden": "true" },
      ...Array.from({ length: 12 }, (_, i) => el("i", { style: `--i:${i}` }))) : null,
    el("div", { class: "drona-toast__text" },
      el("strong", { class: "drona-toast__title" }, title),
      body ? el("span", { class: "drona-toast__body" }, body) : null),
    close,
  );
  close.addEventListener("click", () => dismiss(node));
  host.append(node);
  // Keep it while the pointer or focus is on it; otherwise it leaves after a while.
  const arm = () => {
    if (node._timer) clearTimeout(node._timer);
    node._timer = setTimeout(() => dismiss(node), SHOW_MS);
  };
  node.addEventListener("mouseenter", () => clearTimeout(node._timer));
  node.addEventListener("mouseleave", arm);
  node.addEventListener("focusin", () => clearTimeout(node._timer));
  node.addEventListener("focusout", arm);
  arm();
  return node;
}

// Achievements toasted in this tab: one arrives both in this tab's own answer (rewards.js) and as a
// live event (live.js), in either order, and is shown once. A learner earns each one once.
const announced = new Set();

/** Announce newly earned achievements according to the gamification mode (each once per tab). */
export function announceAchievements(achievements, mode) {
  if (!achievements || !achievements.length || mode === "off") return;
  for (const a of achievements) {
    if (a.id) {
      if (announced.has(a.id)) continue;
      announced.add(a.id);
    }
    toast({
      title: `Achievement unlocked: ${a.title}`,
      body: a.description || "",
      tone: "achievement",
      celebrate: mode === "full",
    });
  }
}

/** Announce XP gained (not in minimal mode, which shows no XP numbers, nor off). */
export function announceXp(amount, mode, body = "Lesson completed.") {
  if (!amount || amount <= 0 || mode === "off" || mode === "minimal") return;
  toast({ title: `+${amount} XP`, body, tone: "xp" });
}
