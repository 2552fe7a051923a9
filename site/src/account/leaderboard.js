// Leaderboards: global (only learners who opted in), or your team, class or cohort; this week or
// all time; the top or the places around you. Your row is highlighted. 403s (not a member, or a
// gamification mode without leaderboards) are explained, not shown as failures.
import { el, uniqueId } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { formatNumber, pages, plural } from "../format.js";
import { loading, needsServer, requireUser, selectField } from "./forms.js";

const SCOPES = { global: "Everyone (opt-in)", team: "My team", class: "My class", cohort: "My cohort" };

function segmented({ legend, name, options, value, onChange }) {
  const fieldset = el("fieldset", { class: "drona-segmented" }, el("legend", { class: "drona-field__label" }, legend));
  for (const [v, text] of options) {
    const id = uniqueId(`drona-${name}`);
    const input = el("input", { type: "radio", id, name, value: v });
    input.checked = v === value;
    input.addEventListener("change", () => onChange(v));
    fieldset.append(input, el("label", { for: id }, text));
  }
  return fieldset;
}

class Leaderboard {
  constructor(root) {
    this.root = root;
    this.query = { scope: "global", period: "weekly", view: "top", team_id: "" };
    this.start();
  }

  async start() {
    loading(this.root);
    const user = await requireUser(this.root, "see the leaderboards");
    if (!user) return;
    try {
      this.teams = await api.get("teams");
    } catch (err) {
      if (err instanceof ServerUnavailable) return needsServer(this.root);
      this.teams = [];
    }
    this.result = el("div", { class: "drona-board__result", "aria-live": "polite", "aria-busy": "false" });
    this.note = el("p", { class: "drona-field__hint drona-board__note" });
    this.controls = el("div", { class: "drona-board__controls" });
    this.root.replaceChildren(this.controls, this.note, this.result);
    this.renderControls();
    this.fetch();
  }

  renderControls() {
    const kinds = new Set((this.teams || []).map((t) => t.kind));
    const scopes = Object.entries(SCOPES).filter(([s]) => s === "global" || kinds.has(s));
    const scope = selectField({ label: "Who", name: "scope", options: scopes, value: this.query.scope });
    scope.input.addEventListener("change", () => {
      this.query.scope = scope.input.value;
      this.query.team_id = "";
      this.renderControls();
      this.fetch();
    });
    const children = [scope.wrap];
    const ofKind = (this.teams || []).filter((t) => t.kind === this.query.scope);
    if (ofKind.length > 1) {
      const team = selectField({ label: "Which", name: "team_id", value: this.query.team_id,
        options: [["", `All my ${this.query.scope === "class" ? "classes" : this.query.scope + "s"}`],
          ...ofKind.map((t) => [t.id, t.name])] });
      team.input.addEventListener("change", () => {
        this.query.team_id = team.input.value;
        this.fetch();
      });
      children.push(team.wrap);
    }
    children.push(
      segmented({ legend: "When", name: "period", value: this.query.period,
        options: [["weekly", "This week"], ["all_time", "All time"]],
        onChange: (v) => { this.query.period = v; this.fetch(); } }),
      segmented({ legend: "Show", name: "view", value: this.query.view,
        options: [["top", "Top"], ["neighbours", "Around me"]],
        onChange: (v) => { this.query.view = v; this.fetch(); } }),
    );
    this.controls.replaceChildren(...children);
  }

  async fetch() {
    const q = new URLSearchParams({ scope: this.query.scope, period: this.query.period, view: this.query.view });
    if (this.query.team_id) q.set("team_id", this.query.team_id);
    const ticket = (this.ticket = (this.ticket || 0) + 1);
    this.result.setAttribute("aria-busy", "true");
    try {
      const board = await api.get(`gamification/leaderboard?${q}`);
      if (ticket !== this.ticket) return;
      this.render(board);
    } catch (err) {
      if (ticket !== this.ticket) return;
      this.renderError(err);
    } finally {
      if (ticket === this.ticket) this.result.setAttribute("aria-busy", "false");
    }
    this.root.dataset.state = "ready";
  }

  render(board) {
    this.root.dataset.result = "board";
    const global = this.query.scope === "global";
    this.note.replaceChildren();
    if (global) {
      this.note.append("The global board lists only learners who chose to appear on it, so nobody is ranked in " +
        "public without saying yes. ");
      if (!board.opted_in) {
        this.note.append("You are not on it. ", el("a", { href: pages.settings() }, "Join in your settings"), ".");
      }
    }
    const weekly = this.query.period === "weekly";
    if (!board.entries.length) {
      this.result.replaceChildren(el("p", { class: "drona-notice" }, global && !board.opted_in
        ? "Nobody is on this board yet. Be the first: opt in from your settings."
        : "Nobody has earned XP here yet this week."));
      return;
    }
    const caption = `${SCOPES[this.query.scope]}, ${weekly ? "this week" : "all time"}` +
      (board.your_rank ? `: you are number ${board.your_rank} of ${board.total}` : `: ${plural(board.total, "learner")}`);
    const table = el("table", { class: "drona-board" },
      el("caption", {}, caption),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "Rank"), el("th", { scope: "col" }, "Learner"),
        el("th", { scope: "col", class: "num" }, "Level"), el("th", { scope: "col", class: "num" }, weekly ? "XP this week" : "XP"))),
      el("tbody", {}, ...board.entries.map((e) => el("tr", { class: e.is_you ? "is-you" : null,
        "aria-current": e.is_you ? "true" : null },
      el("td", {}, `#${e.rank}`),
      el("th", { scope: "row" }, e.display_name, e.is_you ? el("span", { class: "drona-tag" }, "You") : null),
      el("td", { class: "num" }, String(e.level)),
      el("td", { class: "num" }, formatNumber(e.xp))))));
    this.result.replaceChildren(el("div", { class: "drona-board__scroll" }, table));
  }

  renderError(err) {
    this.root.dataset.result = "error";
    this.note.replaceChildren();
    if (err instanceof ApiError && err.status === 403) {
      const modeOff = /mode/i.test(err.message);
      this.result.replaceChildren(el("div", { class: "drona-notice", role: "status", "data-drona-forbidden": "" },
        el("p", {}, err.message),
        modeOff ? el("p", {}, "Leaderboards are part of the full and moderate gamification modes. ",
          el("a", { href: pages.settings() }, "Change your mode in settings"), ".") : null));
      return;
    }
    if (err instanceof ServerUnavailable) return needsServer(this.root);
    this.result.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
  }
}

export function mountLeaderboard(root) {
  return new Leaderboard(root);
}
