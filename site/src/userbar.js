// The user bar in Material's header: "Sign in", or the learner's level, XP and streak with a
// menu (dashboard, your progress, leaderboard, tutor history, settings, sign out). Injected once into .md-header__inner, which
// Material's instant navigation keeps; it follows the session live (progress events, sign-out).
//
// Gamification modes: full and moderate show level, XP and streak; minimal shows level and
// streak (no XP numbers, no leaderboard); off shows none of it.
import { el, uniqueId } from "./ui.js";
import { icon } from "./icons.js";
import { formatNumber, pages, signinUrl } from "./format.js";
import {
  currentProfile, currentUser, gamificationMode, isServerUnavailable, knownProfile, onSession, signOut,
} from "./session.js";
import { onQueue, pending } from "./progress-queue.js";
import { applyColours, organisationOf } from "./branding.js";

let bar = null;

function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || "?").slice(0, 1);
  return letters.toUpperCase();
}

class UserBar {
  constructor() {
    this.root = el("div", { class: "drona-userbar", "data-drona-userbar": "", "data-state": "loading" });
    this.user = undefined;
    this.menuOpen = false;
    this.onDocClick = (event) => {
      if (this.menuOpen && !this.menu.contains(event.target)) this.closeMenu(false);
    };
    this.onKey = (event) => {
      if (event.key === "Escape" && this.menuOpen) {
        event.preventDefault();
        this.closeMenu(true);
      }
    };
    document.addEventListener("click", this.onDocClick);
    document.addEventListener("keydown", this.onKey);
    onSession("user", (u) => this.setUser(u));
    onSession("profile", () => this.render());
    onQueue("change", () => this.renderQueued());
  }

  attach() {
    const header = document.querySelector(".md-header__inner");
    if (!header) return false;
    if (!this.root.isConnected || this.root.parentElement !== header) header.append(this.root);
    return true;
  }

  async start() {
    const user = await currentUser();
    this.setUser(user);
  }

  setUser(user) {
    this.user = user;
    this.render();
    if (user) currentProfile();
    this.organisation = null;
    applyColours(null);
    organisationOf(user).then((org) => {
      if (this.user !== user) return; // signed out (or in as someone else) meanwhile
      this.organisation = org;
      applyColours(org && org.branding);
      this.render();
    });
  }

  render() {
    const user = this.user;
    const root = this.root;
    this.closeMenu(false);
    if (user === undefined) return;
    root.hidden = false;
    if (!user && isServerUnavailable()) {
      // Static hosting (or offline) and nobody known: there is nothing to sign in to.
      root.dataset.state = "unavailable";
      root.hidden = true;
      root.replaceChildren();
      return;
    }
    if (!user) {
      root.dataset.state = "signed-out";
      delete root.dataset.mode;
      const link = el("a", { class: "drona-userbar__signin", href: signinUrl() }, icon("account"),
        el("span", {}, "Sign in"));
      // Keep ?next= pointing at the page shown now (instant navigation changes it).
      link.addEventListener("focus", () => { link.href = signinUrl(); });
      link.addEventListener("mouseenter", () => { link.href = signinUrl(); });
      root.replaceChildren(link);
      return;
    }
    const profile = knownProfile();
    const mode = profile ? gamificationMode(profile) : "loading";
    root.dataset.state = "signed-in";
    root.dataset.mode = mode;
    const children = [];
    const org = this.organisation;
    if (org && org.branding && org.branding.logo) {
      children.push(el("img", { class: "drona-userbar__brand", src: org.branding.logo, alt: org.name,
        title: org.name, "data-drona-brand": org.id }));
    }
    if (profile && mode !== "off") children.push(this.stats(profile, mode));
    children.push(this.buildMenu(user, profile, mode));
    root.replaceChildren(...children);
    this.renderQueued();
  }

  stats(profile, mode) {
    const showXp = mode === "full" || mode === "moderate";
    const streak = profile.streak ? profile.streak.current : 0;
    const label = [
      `Level ${profile.level}, ${profile.level_title}`,
      showXp ? `${formatNumber(profile.xp)} XP` : null,
      `${streak}-day streak`,
    ].filter(Boolean).join(", ");
    // Screen readers hear each stat by name ("Level 2", "XP: 120", "Streak: 3 days"); the link's
    // name comes from its content, so it always contains the visible text (WCAG 2.5.3).
    const spoken = (text) => el("span", { class: "drona-visually-hidden" }, text);
    const shown = (text) => el("span", { "aria-hidden": "true" }, text);
    return el(
      "a",
      { class: "drona-userbar__stats", href: pages.dashboard(), title: `${label}. Open your dashboard.` },
      el("span", { class: "drona-userbar__level", "data-drona-level": String(profile.level) },
        el("span", { class: "drona-userbar__lv", "aria-hidden": "true" }, `Lv ${profile.level}`),
        spoken(`Level ${profile.level}, `),
        el("span", { class: "drona-userbar__title" }, profile.level_title)),
      showXp ? el("span", { class: "drona-userbar__xp", "data-drona-xp": String(profile.xp) },
        icon("bolt"), shown(`${formatNumber(profile.xp)} XP`), spoken(`, XP: ${formatNumber(profile.xp)}`)) : null,
      el("span", { class: `drona-userbar__streak${streak > 0 ? " is-active" : ""}`, "data-drona-streak": String(streak) },
        icon("fire"), shown(String(streak)), spoken(`, Streak: ${streak} ${streak === 1 ? "day" : "days"}`)),
      spoken(". Open your dashboard"),
    );
  }

  buildMenu(user, profile, mode) {
    const listId = uniqueId("drona-usermenu");
    this.toggle = el(
      "button",
      { type: "button", class: "drona-userbar__toggle", "aria-expanded": "false", "aria-controls": listId,
        title: `Account: ${user.display_name}` },
      el("span", { class: "drona-userbar__avatar", "aria-hidden": "true" }, initials(user.display_name)),
      el("span", { class: "drona-visually-hidden" }, `Account menu for ${user.display_name}`),
      icon("chevron-down"),
    );
    const item = (href, iconName, text) => el("li", {}, el("a", { href, class: "drona-usermenu__item" }, icon(iconName), text));
    const signOutBtn = el("button", { type: "button", class: "drona-usermenu__item" }, icon("logout"), "Sign out");
    signOutBtn.addEventListener("click", async () => {
      signOutBtn.disabled = true;
      try {
        await signOut();
      } catch (_err) {
        /* signed out locally in any case */
      }
      location.assign(pages.signin() + "?signed_out=1");
    });
    const showXp = profile && (mode === "full" || mode === "moderate");
    this.queuedNote = el("li", { class: "drona-usermenu__queued", hidden: true });
    this.list = el(
      "ul",
      { id: listId, class: "drona-usermenu__list", hidden: true },
      el("li", { class: "drona-usermenu__who" },
        el("strong", {}, user.display_name),
        el("span", {}, user.email || ""),
        showXp ? el("span", {}, `Level ${profile.level} · ${formatNumber(profile.xp)} XP`) : null),
      this.queuedNote,
      user.onboarded ? null : item(pages.onboarding(), "check-circle", "Finish setting up"),
      item(pages.dashboard(), "dashboard", "Dashboard"),
      item(pages.progress(), "dashboard", "Your progress"),
      mode === "full" || mode === "moderate" ? item(pages.leaderboard(), "podium", "Leaderboard") : null,
      item(pages.tutorHistory(), "tutor", "Tutor history"),
      item(pages.invitations(), "dashboard", "Invitations"),
      // Admins, managers and the other organisation roles; the page itself says what each may do.
      user.role && user.role !== "learner" ? item(pages.org(), "dashboard", "Organisation") : null,
      user.role === "super_admin" ? item(pages.support(), "dashboard", "Support") : null,
      user.role === "super_admin" ? item(pages.platformAnalytics(), "dashboard", "Platform dashboard") : null,
      item(pages.settings(), "cog", "Settings"),
      el("li", {}, signOutBtn),
    );
    this.list.addEventListener("click", (event) => {
      if (event.target.closest("a")) this.closeMenu(false);
    });
    this.list.addEventListener("focusout", (event) => {
      if (this.menuOpen && !this.menu.contains(event.relatedTarget) && event.relatedTarget) this.closeMenu(false);
    });
    this.toggle.addEventListener("click", (event) => {
      event.stopPropagation();
      if (this.menuOpen) this.closeMenu(true);
      else this.openMenu();
    });
    this.menu = el("div", { class: "drona-usermenu" }, this.toggle, this.list);
    return this.menu;
  }

  renderQueued() {
    if (!this.queuedNote) return;
    const count = pending().length;
    this.root.dataset.queued = String(count);
    this.queuedNote.hidden = count === 0;
    this.queuedNote.textContent = count === 0 ? "" :
      `${count} progress ${count === 1 ? "update" : "updates"} saved on this device, waiting to be sent.`;
  }

  openMenu() {
    if (!this.list) return;
    this.menuOpen = true;
    this.list.hidden = false;
    this.toggle.setAttribute("aria-expanded", "true");
    const first = this.list.querySelector("a, button");
    if (first) first.focus();
  }

  closeMenu(returnFocus) {
    if (!this.list || !this.menuOpen) return;
    this.menuOpen = false;
    this.list.hidden = true;
    this.toggle.setAttribute("aria-expanded", "false");
    if (returnFocus) this.toggle.focus();
  }
}

/** Put the user bar into the header (once per document; again only if something removed it). */
export function ensureUserBar() {
  if (!bar) {
    bar = new UserBar();
    if (bar.attach()) bar.start();
    return bar;
  }
  bar.attach();
  const signin = bar.root.querySelector(".drona-userbar__signin");
  if (signin) signin.href = signinUrl(); // instant navigation moved us: come back here after signing in
  return bar;
}
