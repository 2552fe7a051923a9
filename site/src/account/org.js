// The organisation page (issue #16): what an enterprise admin runs (seats, members and roles,
// invitations, teams, assignments with due dates, the progress export) and what a team manager sees
// (each team's progress against its assignments, with a nudge per member). Everything is the API's:
// GET /api/orgs/{id}, …/members, …/teams, …/assignments, /api/teams/{id}/progress. The server
// checks every permission; this page only leaves out what the signed-in role cannot use.
import { el } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { formatDate, pages, plural, siteUrl } from "../format.js";
import { field, form, loading, needsServer, requireUser, selectField } from "./forms.js";
import { applyColours, forgetOrganisation } from "../branding.js";

const ROLES = [["learner", "Learner"], ["team_manager", "Team manager"], ["analytics_viewer", "Analytics viewer"],
  ["content_creator", "Content creator"], ["reviewer", "Reviewer (Gold projects)"], ["enterprise_admin", "Administrator"]];
const ROLE_NAMES = Object.fromEntries(ROLES);
const STATES = { done: "Done", overdue: "Overdue", due_soon: "Due soon", open: "Open" };
const TONES = [["", "By each learner's kind (the default)"], ["encouraging", "Encouraging and patient"],
  ["balanced", "Balanced"], ["direct", "Direct and efficient"]];
const MODEL_RULES = [["any", "Any model this server offers"], ["only", "Only the models listed below"],
  ["none", "None: the built-in offline tutor only"]];
const LOGO_TYPES = ["image/png", "image/jpeg", "image/webp"];
const MAX_LOGO_BYTES = 100 * 1024;

/** A file read as a data: URL (the API takes a logo inline, so nothing is stored beside the database). */
function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function section(title, ...body) {
  return el("section", { class: "drona-org__section" }, el("h2", {}, title), ...body);
}

function table(caption, head, rows) {
  // Focusable and named: on a phone the table scrolls sideways, and keyboard users must be able to scroll it.
  return el("div", { class: "drona-org__scroll", tabindex: "0", role: "region", "aria-label": caption },
    el("table", { class: "drona-org__table" },
      el("caption", { class: "drona-visually-hidden" }, caption),
      el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, ...rows)));
}

/** A button that runs `action` and says beside itself what came of it (`done`, or the error). With
 * `confirm`, the first press only asks (the label turns into it) and a second press within 8 s acts. */
function actionButton(label, action, { kind = "secondary", name, done, confirm } = {}) {
  let armed = null;
  const note = el("span", { class: "drona-field__error", role: "alert", hidden: true });
  const said = el("span", { class: "drona-field__hint", role: "status" });
  const btn = el("button", { type: "button", class: `drona-btn drona-btn--${kind}`, "aria-label": name || null,
    onclick: async () => {
      if (btn.getAttribute("aria-disabled") === "true") return;
      if (confirm && !armed) {
        btn.textContent = confirm;
        said.textContent = `${confirm}.`;
        armed = setTimeout(() => {
          armed = null;
          btn.textContent = label;
          said.textContent = "";
        }, 8000);
        return;
      }
      clearTimeout(armed);
      armed = null;
      btn.setAttribute("aria-disabled", "true");
      note.hidden = true;
      said.textContent = "";
      try {
        await action();
        if (done) said.textContent = done;
      } catch (err) {
        note.textContent = err instanceof ApiError ? err.message : "That did not work. Try again.";
        note.hidden = false;
      } finally {
        btn.setAttribute("aria-disabled", "false");
      }
    } }, label);
  return el("span", { class: "drona-org__action" }, btn, said, note);
}

class OrgPage {
  constructor(root) {
    this.root = root;
  }

  async load() {
    loading(this.root, "Loading your organisation…");
    const user = await requireUser(this.root, "see your organisation");
    if (!user) return;
    this.user = user;
    try {
      const [orgs, teams, catalog] = await Promise.all([api.get("orgs"), api.get("teams"),
        api.get("catalog").catch(() => ({ tracks: [] }))]);
      const wanted = new URLSearchParams(location.search).get("org") || user.organization_id;
      this.org = orgs.find((o) => o.id === wanted) || orgs[0] || null;
      this.managed = teams.filter((t) => t.my_role === "manager");
      this.courses = catalog.tracks.flatMap((t) => t.courses).filter((c) => c.status === "active");
      if (this.org) {
        const base = `orgs/${this.org.id}`;
        [this.members, this.teams, this.assignments, this.audit] = await Promise.all([
          api.get(`${base}/members`), api.get(`${base}/teams`), api.get(`${base}/assignments`),
          api.get(`${base}/audit?limit=50`).catch(() => [])]);
        // Single sign-on and email domains: an admin's (a team manager reads neither).
        [this.sso, this.domains] = await Promise.all([api.get(`${base}/sso`).catch(() => null),
          api.get(`${base}/domains`).catch(() => null)]);
        // SCIM tokens: an admin's too (null: not shown).
        this.scimTokens = await api.get(`${base}/scim/tokens`).catch(() => null);
        // LTI 1.3 platforms (the LMSs that launch lessons): an admin's too (null: not shown).
        this.ltiPlatforms = await api.get(`${base}/lti/platforms`).catch(() => null);
      }
      this.progress = await Promise.all(this.managed.map((t) => api.get(`teams/${t.id}/progress`)));
      // The read-only dashboard: the organisation's analytics viewers and admins (null: not theirs).
      const dashboardOrg = this.org ? this.org.id : user.organization_id;
      this.dashboard = dashboardOrg ? await api.get(`orgs/${dashboardOrg}/dashboard`).catch(() => null) : null;
      // The organisation's analytics policy, as it applies to this member (null: none to show).
      this.visibility = user.organization_id ? await api.get("analytics/who-sees-me").catch(() => null) : null;
    } catch (err) {
      if (err instanceof ServerUnavailable) return needsServer(this.root);
      this.root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
      this.root.dataset.state = "error";
      return;
    }
    this.render();
  }

  render() {
    const parts = [];
    if (this.dashboard && !this.org) parts.push(this.dashboardSection());
    if (this.org) parts.push(this.overview(), this.dashboard ? this.dashboardSection() : null, this.invite(),
      this.membersSection(), this.teamsSection(), this.assignmentsSection(), this.settingsSection(), this.ssoSection(),
      this.scimSection(), this.ltiSection(), this.auditSection());
    this.managed.forEach((team, i) => parts.push(this.teamProgress(this.progress[i])));
    if (!parts.length) {
      parts.push(el("p", { class: "drona-notice", role: "status" },
        "You do not administer an organisation or manage a team. Your assigned courses are on your dashboard."));
    }
    if (this.visibility && this.visibility.organization) parts.push(this.policySection(this.visibility));
    // A section an admin cannot use (its API refused) is null: left out.
    this.root.replaceChildren(...parts.filter(Boolean));
    this.root.dataset.state = "ready";
  }

  // What the organisation may see of this member's learning (issue #17: drill-down is for their team's
  // managers only; everything else is counted over groups of k or more).
  policySection(visibility) {
    const drill = visibility.drill_down.length
      ? el("ul", {}, ...visibility.drill_down.map((t) => el("li", {}, `${t.team}: ${t.managers.join(", ")}`)))
      : el("p", {}, "You are in no team with a manager, so nobody but you can open your progress dashboard.");
    return section(`${visibility.organization.name}: who sees your learning`,
      el("p", {}, "Only the managers of a team you are in can open your own progress dashboard (your skill map, "
        + "metrics and weekly trend):"),
      drill,
      el("p", {}, `Your organisation's admins and analytics viewers see team and organisation figures only for `
        + `groups of ${visibility.k} or more people, never yours alone. For required courses, its admins see `
        + "each member's progress, deadlines and certificates (the compliance report), and each member's skill "
        + "estimates (the skill inventory)."));
  }

  overview() {
    const org = this.org;
    const seats = org.seat_limit ? `${org.seats_used} of ${plural(org.seat_limit, "seat")} used`
      : `${plural(org.seats_used, "member")}, no seat limit`;
    const full = org.seat_limit && org.seats_used >= org.seat_limit;
    return section(org.name,
      el("p", { "data-drona-org-seats": String(org.seats_used) }, seats,
        full ? el("strong", {}, " · full: new members cannot join until a seat frees.") : ""),
      el("p", {}, el("a", { href: siteUrl(`api/orgs/${org.id}/progress.csv`), download: "progress.csv" },
        "Download everyone's progress (CSV)")));
  }

  invite() {
    const email = field({ label: "Email address", name: "email", type: "email", required: true, autocomplete: "off" });
    const role = selectField({ label: "Role", name: "role", options: ROLES, value: "learner" });
    const f = form({ label: "Invite someone", submitLabel: "Send invitation", children: [email.wrap, role.wrap],
      onSubmit: async (self) => {
        await api.post(`orgs/${this.org.id}/invitations`, { email: email.input.value, role: role.input.value });
        self.status.textContent = `Invitation sent to ${email.input.value}. They join when they accept.`;
        email.input.value = "";
      } });
    const id = "drona-org-csv";
    const text = el("textarea", { id, name: "csv", class: "drona-input", rows: "4", required: true,
      placeholder: "email,role\nada@example.com,learner\nlin@example.com,team_manager" });
    const many = form({ label: "Invite from a CSV file", submitLabel: "Invite everyone", children: [
      el("div", { class: "drona-field", "data-field": "csv" },
        el("label", { for: id, class: "drona-field__label" }, "Many at once: one `email,role` per line"),
        text)], onSubmit: async (self) => {
      try {
        const sent = await api.post(`orgs/${this.org.id}/invitations/import`, { csv: text.value });
        self.status.textContent = `${plural(sent.length, "invitation")} sent.`;
        text.value = "";
      } catch (err) {
        const problems = err instanceof ApiError && err.details && err.details.problems;
        if (!problems) throw err;
        self.summary.replaceChildren(el("p", {}, err.message), el("ul", {}, ...problems.map((p) => el("li", {}, p))));
        self.summary.hidden = false;
        self.summary.focus();
      }
    } });
    return section("Invite someone", f.node, many.node);
  }

  membersSection() {
    const rows = this.members.map((m) => {
      const self = m.id === this.user.id;
      const select = el("select", { class: "drona-input", "aria-label": `Role of ${m.email}`, disabled: self },
        ...ROLES.map(([v, t]) => el("option", { value: v }, t)));
      select.value = m.role;
      const said = el("span", { class: "drona-field__hint", role: "status" });
      select.addEventListener("change", async () => {
        said.textContent = "";
        try {
          const changed = await api.patch(`orgs/${this.org.id}/members/${m.id}`, { role: select.value });
          m.role = changed.role;
          said.textContent = "Saved.";
        } catch (err) {
          select.value = m.role;
          said.textContent = err instanceof ApiError ? err.message : "The role did not change.";
        }
      });
      return el("tr", { "data-drona-member": m.email },
        el("td", {}, m.display_name, el("br"), el("span", { class: "drona-field__hint" }, m.email)),
        el("td", {}, ROLE_NAMES[m.role] ? [select, said] : m.role),
        el("td", {}, m.teams.join(", ") || "—"),
        el("td", {}, self ? "(you)" : actionButton("Remove", async () => {
          await api.delete(`orgs/${this.org.id}/members/${m.id}`);
          await this.load();
        }, { name: `Remove ${m.email}`, confirm: "Press again to remove" })));
    });
    return section("Members", table("Members", ["Member", "Role", "Teams", ""], rows));
  }

  teamsSection() {
    const name = field({ label: "Team name", name: "name", required: true, maxlength: 120 });
    const kind = selectField({ label: "Kind", name: "kind", options: [["team", "Team"], ["class", "Class"],
      ["cohort", "Cohort"]], value: "team" });
    const f = form({ label: "New team", submitLabel: "Create team", children: [name.wrap, kind.wrap],
      onSubmit: async () => {
        await api.post(`orgs/${this.org.id}/teams`, { name: name.input.value, kind: kind.input.value });
        await this.load();
      } });
    const add = (team) => {
      const email = field({ label: `Add to ${team.name}`, name: "email", type: "email", required: true });
      const role = selectField({ label: "As", name: "role", options: [["member", "Member"], ["manager", "Manager"]] });
      return form({ label: `Add a member to ${team.name}`, submitLabel: "Add", children: [email.wrap, role.wrap],
        className: "drona-org__inline",
        onSubmit: async () => {
          await api.post(`teams/${team.id}/members`, { email: email.input.value, role: role.input.value });
          await this.load();
        } }).node;
    };
    const list = el("ul", { class: "drona-org__teams" }, ...this.teams.map((t) => el("li", { "data-drona-team": t.name },
      el("strong", {}, t.name), ` · ${t.kind} · ${plural(t.members || 0, "member")} · `,
      el("a", { href: `${pages.teamAnalytics()}?team=${encodeURIComponent(t.id)}` }, `Analytics of ${t.name}`), add(t))));
    return section("Teams", this.teams.length ? list : el("p", {}, "No teams yet."), f.node);
  }

  assignmentsSection() {
    const course = selectField({ label: "Course", name: "course_id",
      options: this.courses.map((c) => [c.id, c.title]) });
    const who = selectField({ label: "Assign to", name: "team_id", options: [["", "One member (by email)"],
      ...this.teams.map((t) => [t.id, `Team: ${t.name}`])], value: this.teams.length ? this.teams[0].id : "" });
    const email = field({ label: "Member's email", name: "email", type: "email",
      hint: "Only when assigning one member." });
    const due = field({ label: "Due date", name: "due_at", type: "date", required: true });
    const f = form({ label: "Assign a course", submitLabel: "Assign", children: [course.wrap, who.wrap, email.wrap,
      due.wrap], onSubmit: async () => {
      // The end of the chosen day, in the admin's own time zone.
      const dueAt = new Date(`${due.input.value}T23:59:00`).toISOString();
      const body = { course_id: course.input.value, due_at: dueAt };
      if (who.input.value) body.team_id = who.input.value;
      else body.email = email.input.value;
      await api.post(`orgs/${this.org.id}/assignments`, body);
      await this.load();
    } });
    const rows = this.assignments.map((a) => el("tr", { "data-drona-assigned": a.course_title },
      el("td", {}, a.course_title), el("td", {}, a.team_name ? `Team: ${a.team_name}` : a.email || "—"),
      el("td", {}, formatDate(a.due_at)),
      el("td", {}, actionButton("Remove", async () => {
        await api.delete(`orgs/${this.org.id}/assignments/${a.id}`);
        await this.load();
      }, { name: `Remove the assignment of ${a.course_title}` }))));
    return section("Assigned courses",
      rows.length ? table("Assigned courses", ["Course", "Assigned to", "Due", ""], rows)
        : el("p", {}, "No course is assigned yet."), f.node);
  }

  /** Name, branding (logo and colours on members' pages), the tutor's tone, the AI models members'
   * requests may use, and how long their tutor conversations and kept draft versions last. */
  settingsSection() {
    const org = this.org;
    const brand = org.branding || {};
    const name = field({ label: "Name", name: "name", value: org.name, required: true, maxlength: 120 });
    const logoId = "drona-org-logo";
    const logo = el("input", { id: logoId, name: "logo", type: "file", accept: LOGO_TYPES.join(","),
      class: "drona-input", "aria-describedby": `${logoId}-hint` });
    const removeLogo = el("input", { type: "checkbox", id: `${logoId}-remove`, name: "remove_logo" });
    const logoField = el("div", { class: "drona-field", "data-field": "logo" },
      el("label", { for: logoId, class: "drona-field__label" }, "Logo"),
      el("p", { id: `${logoId}-hint`, class: "drona-field__hint" }, "PNG, JPEG or WebP, up to 100 KB."),
      brand.logo ? el("img", { src: brand.logo, alt: `The current logo of ${org.name}`, class: "drona-org__logo" })
        : null,
      logo,
      brand.logo ? el("label", { for: `${logoId}-remove` }, removeLogo, " Remove the logo") : null);
    const colour = (label, key) => field({ label, name: key, value: brand[key] || "", maxlength: 7,
      placeholder: "#0a7d4f", hint: "A colour as #RRGGBB; empty for the site's own." });
    const primary = colour("Main colour", "primary_color");
    const accent = colour("Accent colour", "accent_color");
    const tone = selectField({ label: "The tutor's tone", name: "ai_tone", options: TONES, value: org.ai_tone || "",
      hint: "For every member; the default follows what each learner said they are (student, professional…)." });
    const rule = org.allowed_models == null ? "any" : org.allowed_models.length ? "only" : "none";
    const models = selectField({ label: "AI models", name: "model_rule", options: MODEL_RULES, value: rule });
    const listId = "drona-org-models";
    const list = el("textarea", { id: listId, name: "allowed_models", class: "drona-input", rows: "3",
      placeholder: "openai/gpt-4o-mini", "aria-describedby": `${listId}-hint` }, (org.allowed_models || []).join("\n"));
    const listField = el("div", { class: "drona-field", "data-field": "allowed_models" },
      el("label", { for: listId, class: "drona-field__label" }, "Allowed models, one per line"),
      el("p", { id: `${listId}-hint`, class: "drona-field__hint" },
        "As the server names them (LiteLLM's provider/model). A request that may use none of them is answered offline."),
      list);
    const keep = field({ label: "Keep tutor conversations and old draft versions for (days)", name: "retention_days",
      type: "number", min: "1", max: "3650", value: org.retention_days ? String(org.retention_days) : "",
      hint: "Empty: until each member deletes them. Older ones are deleted every hour." });
    const f = form({ label: "Organisation settings", submitLabel: "Save settings",
      children: [name.wrap, logoField, primary.wrap, accent.wrap, tone.wrap, models.wrap, listField, keep.wrap],
      onSubmit: async (self) => {
        const branding = { logo: removeLogo.checked ? null : brand.logo || null,
          primary_color: primary.input.value.trim() || null, accent_color: accent.input.value.trim() || null };
        const file = logo.files && logo.files[0];
        if (file) {
          if (!LOGO_TYPES.includes(file.type) || file.size > MAX_LOGO_BYTES) {
            throw new ApiError(422, "invalid_input", "The logo must be a PNG, JPEG or WebP image of 100 KB at most.");
          }
          branding.logo = await readAsDataUrl(file);
        }
        const named = list.value.split("\n").map((m) => m.trim()).filter(Boolean);
        if (models.input.value === "only" && !named.length) {
          throw new ApiError(422, "invalid_input", "List at least one model, or choose the offline tutor only.");
        }
        const days = keep.input.value.trim();
        const changed = await api.patch(`orgs/${org.id}`, {
          name: name.input.value.trim(), branding, ai_tone: tone.input.value || null,
          allowed_models: models.input.value === "any" ? null : models.input.value === "none" ? [] : named,
          retention_days: days ? Number(days) : null });
        this.org = { ...this.org, ...changed };
        forgetOrganisation();
        if (this.user.organization_id === org.id) applyColours(changed.branding);
        self.status.textContent = "Settings saved. Members see the new branding when they next open a page.";
      } });
    return section("Settings", f.node);
  }

  /** Single sign-on (OpenID Connect) and the organisation's email domains with the TXT record each needs.
   * The client secret is write-only: the API says only whether one is stored. */
  ssoSection() {
    if (!this.sso || !this.domains) return null;
    const org = this.org;
    const sso = this.sso;
    const issuer = field({ label: "Issuer URL", name: "issuer", type: "url", value: sso.issuer || "", required: true,
      maxlength: 500, placeholder: "https://login.example.com", autocomplete: "off",
      hint: "Its discovery document (/.well-known/openid-configuration) is read when you save." });
    const clientId = field({ label: "Client ID", name: "client_id", value: sso.client_id || "", required: true,
      maxlength: 255, autocomplete: "off" });
    const secret = field({ label: "Client secret", name: "client_secret", type: "password", autocomplete: "new-password",
      required: !sso.client_secret_set, maxlength: 2000,
      hint: sso.client_secret_set ? "A secret is stored (never shown). Leave empty to keep it." : "Stored encrypted; never shown again." });
    const role = selectField({ label: "Role of members who join by signing in", name: "default_role", options: ROLES,
      value: sso.default_role || "learner" });
    const enabled = el("input", { type: "checkbox", id: "drona-sso-enabled", name: "enabled" });
    enabled.checked = sso.configured ? sso.enabled : true;
    const f = form({ label: "Single sign-on", submitLabel: "Save single sign-on",
      children: [issuer.wrap, clientId.wrap, secret.wrap, role.wrap,
        el("div", { class: "drona-check" }, enabled, el("label", { for: "drona-sso-enabled" }, "Members may sign in this way"))],
      onSubmit: async (self) => {
        const body = { issuer: issuer.input.value.trim(), client_id: clientId.input.value.trim(),
          default_role: role.input.value, enabled: enabled.checked };
        if (secret.input.value) body.client_secret = secret.input.value;
        this.sso = await api.put(`orgs/${org.id}/sso`, body);
        secret.input.value = "";
        self.status.textContent = "Single sign-on saved: the provider's discovery document was read.";
      } });
    const domain = field({ label: "Email domain", name: "domain", required: true, maxlength: 253,
      placeholder: "example.com", autocomplete: "off" });
    const add = form({ label: "Add an email domain", submitLabel: "Add domain", children: [domain.wrap],
      onSubmit: async () => {
        const added = await api.post(`orgs/${org.id}/domains`, { domain: domain.input.value.trim() });
        this.domains = [...this.domains.filter((d) => d.domain !== added.domain), added];
        this.render();
      } });
    const rows = this.domains.map((d) => el("tr", { "data-drona-domain": d.domain },
      el("td", {}, d.domain),
      el("td", {}, d.verified ? `Verified ${formatDate(d.verified_at)}` : "Waiting for verification"),
      el("td", {}, el("code", { class: "drona-org__txt" }, d.txt_value)),
      el("td", {}, actionButton("Remove", async () => {
        await api.delete(`orgs/${org.id}/domains/${encodeURIComponent(d.domain)}`);
        this.domains = this.domains.filter((x) => x.domain !== d.domain);
        this.render();
      }, { name: `Remove ${d.domain}`, confirm: "Press again to remove" }))));
    return section("Single sign-on",
      el("p", {}, "Register this redirect URI at your identity provider: ", el("code", {}, sso.redirect_uri)),
      f.node,
      el("h3", {}, "Email domains"),
      el("p", {}, "Publish each domain's TXT record in its DNS, then ask the platform's administrators to verify it. "
        + "Addresses in a verified domain may sign in with your provider and join as they confirm their address, "
        + "seats permitting."),
      rows.length ? table("Email domains", ["Domain", "Status", "TXT record value", ""], rows)
        : el("p", {}, "No domains yet."),
      add.node);
  }

  /** Provisioning (SCIM 2.0, docs/scim.md): the base URL, bearer tokens (each shown once, on creation,
   * with a copy button; the API never returns one again), the list with last use, and revoking. */
  scimSection() {
    if (!this.scimTokens) return null;
    const org = this.org;
    const baseUrl = new URL("/scim/v2", location.origin).href;
    const shown = el("div", { class: "drona-org__secret", role: "status", "aria-live": "polite" });
    const name = field({ label: "Token name", name: "scim_name", required: true, maxlength: 120,
      placeholder: "Okta", autocomplete: "off", hint: "What uses it, e.g. your identity provider." });
    const f = form({ label: "Create a SCIM token", submitLabel: "Create token", children: [name.wrap],
      onSubmit: async () => {
        const made = await api.post(`orgs/${org.id}/scim/tokens`, { name: name.input.value.trim() });
        name.input.value = "";
        this.scimTokens = [made, ...this.scimTokens];
        this.render();
        this.showScimToken(made.token);
      } });
    const rows = this.scimTokens.map((t) => el("tr", { "data-drona-scim-token": t.name },
      el("td", {}, t.name), el("td", {}, formatDate(t.created_at)),
      el("td", {}, t.last_used_at ? formatDate(t.last_used_at) : "Never"),
      el("td", {}, actionButton("Revoke", async () => {
        await api.delete(`orgs/${org.id}/scim/tokens/${t.id}`);
        this.scimTokens = this.scimTokens.filter((x) => x.id !== t.id);
        this.render();
      }, { name: `Revoke ${t.name}`, confirm: "Press again to revoke" }))));
    this.scimShown = shown;
    return section("Provisioning (SCIM)",
      el("p", {}, "Your identity provider (Okta, Entra ID, …) can create, deactivate and remove your members and keep "
        + "its groups as teams. Give it this base URL and a token: ", el("code", { "data-drona-scim-base": "" }, baseUrl)),
      shown,
      rows.length ? table("SCIM tokens", ["Name", "Created", "Last used", ""], rows) : el("p", {}, "No tokens yet."),
      f.node);
  }

  /** Counts per course over the members (GET /api/orgs/{id}/dashboard): read-only, nobody named. */
  dashboardSection() {
    const d = this.dashboard;
    const seats = d.seat_limit ? `${d.members} of ${plural(d.seat_limit, "seat")} used` : plural(d.members, "member");
    const rows = d.courses.map((c) => el("tr", { "data-drona-dashboard-course": c.course_id },
      el("th", { scope: "row" }, c.course_title), el("td", {}, String(c.assigned)), el("td", {}, String(c.done)),
      el("td", {}, String(c.overdue)), el("td", {}, String(c.due_soon)), el("td", {}, String(c.open)),
      el("td", {}, String(c.started_unassigned)), el("td", {}, `${Math.round(c.average_percent)}%`)));
    return section(this.org ? "Dashboard" : `${d.name}: dashboard`,
      el("p", { "data-drona-dashboard": d.organization_id }, `${seats}, ${plural(d.teams, "team")}.`),
      el("p", {}, el("a", { href: `${pages.orgAnalytics()}?org=${encodeURIComponent(d.organization_id)}`,
        "data-drona-org-analytics": d.organization_id }, "Open the organisation's analytics dashboard")),
      rows.length ? table("Courses across the organisation", ["Course", "Assigned", "Done", "Overdue", "Due soon",
        "Open", "Started unassigned", "Mean progress"], rows)
        : el("p", {}, "No course is assigned or started yet."));
  }

  /** The LMSs that launch lessons here (LTI 1.3): the tool's URLs to paste there, and their registrations. */
  ltiSection() {
    if (!this.ltiPlatforms) return null;
    const org = this.org;
    const url = (path) => new URL(path, location.origin).href;
    const tool = [["Login (OIDC initiation) URL", url("/api/lti/login")],
      ["Target link, redirect and deep linking URL", url("/api/lti/launch")], ["Public key set (JWKS) URL", url("/api/lti/jwks")]];
    const inputs = {
      name: field({ label: "Name", name: "lti_name", maxlength: 120, placeholder: "Canvas (production)" }),
      issuer: field({ label: "Issuer", name: "lti_issuer", required: true, maxlength: 255,
        placeholder: "https://canvas.instructure.com" }),
      client_id: field({ label: "Client assigned by the LMS", name: "lti_client_id", required: true, maxlength: 255 }),
      deployment_ids: field({ label: "Deployment ids", name: "lti_deployments", required: true,
        hint: "One or more, separated by commas." }),
      auth_login_url: field({ label: "Authorisation (OIDC) endpoint", name: "lti_auth", type: "url", required: true }),
      auth_token_url: field({ label: "Token endpoint", name: "lti_token", type: "url", required: true }),
      key_set_url: field({ label: "Public key set (JWKS) URL", name: "lti_jwks", type: "url", required: true }),
    };
    const f = form({ label: "Register an LMS", submitLabel: "Register", children: Object.values(inputs).map((i) => i.wrap),
      onSubmit: async () => {
        const value = (key) => inputs[key].input.value.trim();
        const made = await api.post(`orgs/${org.id}/lti/platforms`, {
          name: value("name"), issuer: value("issuer"), client_id: value("client_id"),
          deployment_ids: value("deployment_ids").split(",").map((d) => d.trim()).filter(Boolean),
          auth_login_url: value("auth_login_url"), auth_token_url: value("auth_token_url"),
          key_set_url: value("key_set_url") });
        this.ltiPlatforms = [...this.ltiPlatforms, made];
        this.render();
      } });
    const rows = this.ltiPlatforms.map((p) => el("tr", { "data-drona-lti-platform": p.issuer },
      el("td", {}, p.name || p.issuer), el("td", { class: "drona-org__txt" }, p.issuer),
      el("td", {}, p.client_id), el("td", {}, p.deployment_ids.join(", ")),
      el("td", {}, actionButton("Remove", async () => {
        await api.delete(`orgs/${org.id}/lti/platforms/${p.id}`);
        this.ltiPlatforms = this.ltiPlatforms.filter((x) => x.id !== p.id);
        this.render();
      }, { name: `Remove ${p.name || p.issuer}`, confirm: "Press again to remove" }))));
    return section("Learning management systems (LTI 1.3)",
      el("p", {}, "Add Dronacharya to Canvas, Moodle or another LMS as an LTI 1.3 tool with these URLs; then register "
        + "the LMS below with what it shows you. Instructors pick lessons with deep linking, learners launch them "
        + "signed in, and completions go back to the LMS's gradebook."),
      el("dl", { class: "drona-support__facts", "data-drona-lti-tool": "" },
        ...tool.flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, el("code", { class: "drona-org__txt" }, value))])),
      rows.length ? table("Registered LMSs", ["Name", "Issuer", "Client id", "Deployments", ""], rows)
        : el("p", {}, "No LMS registered yet."),
      f.node);
  }

  /** The new token, once: it is not stored readable anywhere, so it is shown here with a copy button. */
  showScimToken(token) {
    const code = el("code", { class: "drona-org__txt", "data-drona-scim-secret": "" }, token);
    const copy = actionButton("Copy token", async () => {
      await navigator.clipboard.writeText(token);
    }, { kind: "primary", done: "Copied." });
    this.scimShown.replaceChildren(el("p", { class: "drona-notice drona-notice--warning" },
      "Copy this token now: it will not be shown again."), code, copy);
  }

  /** The latest changes to the organisation, newest first (GET /api/orgs/{id}/audit). */
  auditSection() {
    const what = (e) => {
      const d = e.details || {};
      switch (e.action) {
        case "member.role": return `changed a role from ${ROLE_NAMES[d.from] || d.from} to ${ROLE_NAMES[d.to] || d.to}`;
        case "member.remove": return "removed a member";
        case "member.join": return { identity_provider: "joined through the identity provider",
          scim: "joined (provisioned by SCIM)" }[d.by] || "joined";
        case "invitation.create": return `invited ${d.email} as ${ROLE_NAMES[d.role] || d.role}`;
        case "invitation.revoke": return `revoked the invitation of ${d.email}`;
        case "org.update": return `changed ${Object.keys(d).join(", ")}`;
        case "team.create": return `created the team ${d.name}`;
        case "team.member": return "added a member to a team";
        case "assignment.create": return "assigned a course";
        case "assignment.delete": return "removed an assignment";
        case "sso.configure": return `configured single sign-on (${d.issuer})`;
        case "sso.delete": return "removed single sign-on";
        case "sso.domain.add": return `added the domain ${d.domain}`;
        case "sso.domain.remove": return `removed the domain ${d.domain}`;
        case "sso.domain.verify": return `verified the domain ${d.domain}`;
        case "scim.token.create": return `created the SCIM token ${d.name}`;
        case "scim.token.revoke": return `revoked the SCIM token ${d.name}`;
        case "team.rename": return `renamed the team ${d.from} to ${d.to}`;
        case "team.members": return "changed a team's members";
        case "team.delete": return `deleted the team ${d.name}`;
        case "lti.platform.register": return `registered the LMS ${d.issuer}`;
        case "lti.platform.delete": return `removed the LMS ${d.issuer}`;
        case "support.view": return "looked at a member's account (platform support)";
        default: return e.action;
      }
    };
    const rows = (this.audit || []).map((e) => el("tr", { "data-drona-audit": e.action },
      el("td", {}, formatDate(e.at)), el("td", {}, e.actor_email || (e.actor_id ? "—" : "(removed or system)")),
      el("td", {}, what(e))));
    return section("Recent changes",
      rows.length ? table("Recent changes", ["When", "Who", "What"], rows) : el("p", {}, "Nothing recorded yet."));
  }

  teamProgress(data) {
    const rows = [];
    for (const m of data.members) {
      const assigned = m.courses.filter((c) => c.state);
      if (!assigned.length) {
        rows.push(el("tr", {}, el("td", {}, m.display_name), el("td", { colspan: "4" }, "No assigned course.")));
      }
      for (const c of assigned) {
        rows.push(el("tr", { "data-drona-progress": `${m.email}|${c.state}` },
          el("td", {}, m.display_name), el("td", {}, c.course_title),
          el("td", {}, `${Math.round(c.percent)}%`),
          el("td", {}, `${STATES[c.state]} · ${formatDate(c.due_at)}`),
          el("td", {}, c.state === "done" ? "" : actionButton("Nudge", async () => {
            await api.post(`teams/${data.team_id}/nudges`, { user_id: m.user_id, assignment_id: c.assignment_id });
          }, { name: `Nudge ${m.display_name} about ${c.course_title}`, done: "Reminder sent." }))));
      }
    }
    const late = data.members.reduce((n, m) => n + m.overdue, 0);
    return section(`Team ${data.team_name}`,
      late ? el("p", { class: "drona-notice drona-notice--warning", role: "status" },
        `${plural(late, "assigned course is", "assigned courses are")} overdue.`) : null,
      table(`Progress of ${data.team_name}`, ["Member", "Course", "Done", "Due", ""], rows),
      el("p", {}, el("a", { href: `${pages.teamAnalytics()}?team=${encodeURIComponent(data.team_id)}`,
        "data-drona-team-analytics": data.team_id }, `Open the analytics dashboard of ${data.team_name}`)));
  }
}

export async function mountOrg(root) {
  const page = new OrgPage(root);
  await page.load();
  return page;
}
