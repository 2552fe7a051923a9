// The support page (issue #16): a super admin finds an account and reads its state, read-only:
// GET /api/admin/users?q= and GET /api/admin/users/{id}. There is no "sign in as": support answers
// from what the learner's own pages show, and every look is written to the audit log.
import { el } from "../ui.js";
import { api, ServerUnavailable } from "../api.js";
import { formatDate, plural } from "../format.js";
import { field, form, loading, needsServer, requireUser } from "./forms.js";

function table(caption, head, rows) {
  // Focusable and named: on a phone the table scrolls sideways, and keyboard users must be able to scroll it.
  return el("div", { class: "drona-org__scroll", tabindex: "0", role: "region", "aria-label": caption },
    el("table", { class: "drona-org__table" },
      el("caption", { class: "drona-visually-hidden" }, caption),
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...rows)));
}

function section(title, ...body) {
  return el("section", { class: "drona-org__section" }, el("h2", {}, title), ...body);
}

class SupportPage {
  constructor(root) {
    this.root = root;
    this.results = el("div", { "data-drona-support-results": "" });
    this.detail = el("div", { "data-drona-support-detail": "", tabindex: "-1" });
  }

  async load() {
    loading(this.root, "Loading…");
    const user = await requireUser(this.root, "use the support views");
    if (!user) return;
    if (user.role !== "super_admin") {
      this.root.replaceChildren(el("p", { class: "drona-notice", role: "status" },
        "Support views are for the platform's super admins."));
      this.root.dataset.state = "ready";
      return;
    }
    const q = field({ label: "Email or name", name: "q", type: "search", hint: "Part of it is enough." });
    const search = form({ label: "Find an account", submitLabel: "Search", children: [q.wrap],
      onSubmit: async (self) => {
        const found = await api.get(`admin/users?q=${encodeURIComponent(q.input.value.trim())}&limit=50`);
        self.status.textContent = `${plural(found.length, "account")} found.`;
        this.showResults(found);
      } });
    this.root.replaceChildren(
      el("p", {}, "Read-only: you see an account as its owner's pages show it, never its password, code or tutor "
        + "conversations, and there is no way to act as it. Each account you open is recorded in the audit log."),
      section("Find an account", search.node, this.results), this.detail);
    this.root.dataset.state = "ready";
  }

  showResults(accounts) {
    const rows = accounts.map((a) => el("tr", {},
      el("td", {}, a.email), el("td", {}, a.display_name), el("td", {}, a.role),
      el("td", {}, a.organization_name || "—"), el("td", {}, a.email_verified ? "yes" : "no"),
      el("td", {}, el("button", { type: "button", class: "drona-btn drona-btn--secondary",
        "aria-label": `Open ${a.email}`, onclick: () => this.open(a.id) }, "Open"))));
    this.results.replaceChildren(accounts.length
      ? table("Accounts found", ["Email", "Name", "Role", "Organisation", "Verified", ""], rows)
      : el("p", { role: "status" }, "No account matches."));
  }

  async open(id) {
    try {
      const view = await api.get(`admin/users/${encodeURIComponent(id)}`);
      this.showAccount(view);
    } catch (err) {
      if (err instanceof ServerUnavailable) return needsServer(this.root);
      this.detail.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
    }
    this.detail.focus();
  }

  showAccount(view) {
    const a = view.account;
    const g = view.gamification;
    const courses = view.courses.map((c) => el("tr", {}, el("td", {}, c.title),
      el("td", {}, `${c.completed_lessons} of ${c.total_lessons}`), el("td", {}, c.completed ? "Completed" : "In progress")));
    const certificates = view.certificates.map((c) => el("tr", {}, el("td", {}, c.course_title),
      el("td", {}, c.tier_title), el("td", {}, formatDate(c.issued_at)), el("td", {}, c.status)));
    this.detail.replaceChildren(section(a.email,
      el("dl", { class: "drona-support__facts", "data-drona-support-account": a.id },
        el("dt", {}, "Name"), el("dd", {}, a.display_name),
        el("dt", {}, "Role"), el("dd", {}, a.role),
        el("dt", {}, "Organisation"), el("dd", {}, a.organization_name || "None"),
        el("dt", {}, "Account"), el("dd", {}, `${a.is_active ? "Active" : "Deactivated"}, since ${formatDate(a.created_at)}`),
        el("dt", {}, "Email verified"), el("dd", {}, a.email_verified ? "Yes" : "No"),
        el("dt", {}, "Signed in"), el("dd", {}, `${plural(view.sessions.active, "browser")} now`
          + (view.sessions.last_sign_in_at ? `; last sign-in ${formatDate(view.sessions.last_sign_in_at)}` : "")),
        el("dt", {}, "XP"), el("dd", {}, `${g.xp} (level ${g.level}), ${plural(g.streak_days, "day")} streak, `
          + `${plural(g.achievements_earned, "achievement")}`)),
      el("h3", {}, "Courses"),
      courses.length ? table("Courses started", ["Course", "Lessons", "State"], courses)
        : el("p", {}, "No course started yet."),
      el("h3", {}, "Certificates"),
      certificates.length ? table("Certificates", ["Course", "Tier", "Issued", "Status"], certificates)
        : el("p", {}, "No certificate yet.")));
  }
}

export async function mountSupport(root) {
  const page = new SupportPage(root);
  await page.load();
  return page;
}
