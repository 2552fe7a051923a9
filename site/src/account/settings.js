// Profile and settings: name, time zone, gamification mode, leaderboard privacy, password and
// sessions (sign out here or everywhere).
import { el, uniqueId } from "../ui.js";
import { api, ServerUnavailable } from "../api.js";
import { pages } from "../format.js";
import { currentProfile, currentUser, signOut } from "../session.js";
import { field, form, loading, needsServer, radioGroup, requireUser, showError } from "./forms.js";
import { timeZoneField } from "./timezone.js";

const MODES = [
  { value: "default", label: "Default", description: "What suits how you learn (or what your organisation chose)." },
  { value: "full", label: "Full", description: "XP, levels, streaks, badges, leaderboards and small celebrations." },
  { value: "moderate", label: "Moderate", description: "The same, without celebrations or animations." },
  { value: "minimal", label: "Minimal", description: "Levels, streaks and badges; no XP numbers and no leaderboards." },
  { value: "off", label: "Off", description: "No game elements at all: just your progress." },
];

function checkbox({ name, label, hint, checked }) {
  const id = uniqueId(`drona-c-${name}`);
  const hintId = `${id}-hint`;
  const input = el("input", { type: "checkbox", id, name, "aria-describedby": hint ? hintId : null });
  input.checked = !!checked;
  const wrap = el("div", { class: "drona-check", "data-field": name }, input,
    el("span", {}, el("label", { for: id }, label), hint ? el("span", { id: hintId, class: "drona-field__hint" }, hint) : null));
  return { wrap, input };
}

function section(title, ...body) {
  const id = uniqueId("drona-s");
  return el("section", { class: "drona-card-section", "aria-labelledby": id }, el("h2", { id }, title), ...body);
}

export async function mountSettings(root) {
  loading(root);
  const user = await requireUser(root, "change your settings");
  if (!user) return null;
  let settings;
  try {
    settings = await api.get("me/settings");
  } catch (err) {
    if (err instanceof ServerUnavailable) return needsServer(root);
    root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
    return null;
  }

  // Profile and preferences: one form, one Save.
  const name = field({ label: "Display name", name: "display_name", value: settings.display_name, required: true,
    maxlength: 80, autocomplete: "name" });
  const tz = timeZoneField({ value: settings.timezone,
    hint: "Your days, and so your streak, follow this clock." });
  const mode = radioGroup({ legend: "Gamification", name: "gamification_mode", options: MODES,
    value: settings.gamification_mode || "default" });
  const optIn = checkbox({ name: "leaderboard_opt_in", label: "Show me on the global leaderboard",
    hint: "Off unless you choose it: the global board is visible to every learner, so it is your call. " +
      "Team and class boards show members either way.",
    checked: settings.leaderboard_opt_in });
  const anon = checkbox({ name: "leaderboard_anonymous", label: "Appear anonymously on leaderboards",
    hint: "Others see “Anonymous learner” instead of your name; you still see yourself.",
    checked: settings.leaderboard_anonymous });
  const digest = checkbox({ name: "weekly_digest", label: "Email me my week each Monday",
    hint: "The weekly digest: lessons completed, your courses, what is due, certificates earned.",
    checked: settings.weekly_digest });
  const prefs = form({
    label: "Profile and preferences",
    submitLabel: "Save changes",
    children: [
      el("p", { class: "drona-field__hint" }, "Signed in as ", el("strong", {}, user.email)),
      name.wrap, tz.wrap, mode.wrap,
      el("fieldset", { class: "drona-choices" }, el("legend", { class: "drona-field__label" }, "Leaderboards"),
        optIn.wrap, anon.wrap),
      el("fieldset", { class: "drona-choices" }, el("legend", { class: "drona-field__label" }, "Email"),
        digest.wrap),
    ],
    onSubmit: async ({ status }) => {
      status.textContent = "Saving…";
      const saved = await api.patch("me/settings", {
        display_name: name.input.value.trim(),
        timezone: tz.input.value,
        gamification_mode: mode.value || "default",
        leaderboard_opt_in: optIn.input.checked,
        leaderboard_anonymous: anon.input.checked,
        weekly_digest: digest.input.checked,
      });
      name.input.value = saved.display_name;
      tz.input.value = saved.timezone;
      status.textContent = "Saved.";
      await currentUser({ refresh: true }); // the header follows name and mode
      currentProfile({ refresh: true });
    },
  });

  // Password.
  const current = field({ label: "Current password", name: "current_password", type: "password",
    autocomplete: "current-password", required: true });
  const next = field({ label: "New password", name: "new_password", type: "password", autocomplete: "new-password",
    required: true, minlength: 8, hint: "At least 8 characters." });
  const pw = form({
    label: "Change password",
    submitLabel: "Change password",
    children: [current.wrap, next.wrap],
    onSubmit: async ({ status }) => {
      await api.post("auth/password", { current_password: current.input.value, new_password: next.input.value });
      current.input.value = "";
      next.input.value = "";
      status.textContent = "Your password is changed. Other browsers signed in to your account were signed out.";
    },
  });

  // Sessions.
  const sessionsBox = el("div", { class: "drona-form__actions" });
  const out = el("button", { type: "button", class: "drona-btn drona-btn--secondary" }, "Sign out");
  const outAll = el("button", { type: "button", class: "drona-btn drona-btn--danger" }, "Sign out everywhere");
  const sessionsError = el("div", { class: "drona-form__summary", role: "alert", tabindex: "-1", hidden: true });
  const sessionsNode = el("div", {}, sessionsError, sessionsBox);
  sessionsBox.append(out, outAll);
  out.addEventListener("click", async () => {
    try {
      await signOut();
    } catch (_err) {
      /* signed out locally anyway */
    }
    location.assign(pages.signin() + "?signed_out=1");
  });
  outAll.addEventListener("click", async () => {
    // eslint-disable-next-line no-alert -- a plain confirmation before an action that cannot be undone
    if (!window.confirm("Sign out of every browser and device signed in to your account, this one included?")) return;
    try {
      await signOut({ everywhere: true });
      location.assign(pages.signin() + "?signed_out=1");
    } catch (err) {
      showError(sessionsNode, err);
    }
  });

  root.replaceChildren(
    section("Profile and preferences", prefs.node),
    section("Password", pw.node),
    section("Sessions",
      el("p", {}, "Signing out everywhere ends every session of your account: on this browser, and on any other " +
        "device where you (or someone else) signed in."),
      sessionsNode),
  );
  root.dataset.state = "ready";
  return null;
}
