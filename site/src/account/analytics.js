// The analytics dashboards (issue #17), one renderer for the four levels: the learner's own progress
// (GET /api/analytics/me, or /api/analytics/users/{id} when a team's manager drills down to a learner),
// a team (/api/analytics/teams/{id}), an organisation (/api/analytics/orgs/{id}) and the platform
// (/api/analytics/platform). Every answer has the same shape (sidecar/analytics): metric tiles, charts,
// recommendations and alerts, drawn here without knowing which metrics or charts a level has. Each chart
// has a table view and a CSV export (the same address with ?format=csv&chart=ID). The server decides who
// may see what and hides groups smaller than k; this page only says so.
import { el, uniqueId } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { urls } from "../config.js";
import { formatDateTime, pages, plural, siteUrl } from "../format.js";
import { chartTable, drawChart, formatCell } from "../charts.js";
import { loading, needsServer, requireUser } from "./forms.js";

const ALERTS = { struggling: "Struggling", wheel_spinning: "Stuck (no mastery after many attempts)", overdue: "Overdue" };
const LEVEL_NAMES = { individual: "Progress", team: "Team", organization: "Organisation", platform: "Platform" };

function hidden(k) {
  return `Hidden: fewer than ${plural(k, "person", "people")}`;
}

function notice(root, text, tone = "") {
  root.replaceChildren(el("p", { class: `drona-notice ${tone}`.trim(), role: "status" }, text));
  root.dataset.state = "ready";
}

function section(title, attrs, ...body) {
  const id = uniqueId("drona-analytics-h");
  const { class: className = "", ...rest } = attrs || {};
  return el("section", { ...rest, class: `drona-analytics__section ${className}`.trim(), "aria-labelledby": id },
    el("h2", { id }, title), ...body);
}

/** A metric's value with its unit: "72%", "3.5 lessons a week". */
export function formatValue(value, unit) {
  const shown = formatCell(value);
  if (!unit || shown === "—") return shown;
  return unit === "%" || unit.startsWith("/") ? `${shown}${unit}` : `${shown} ${unit}`;
}

function metricTile(metric, k) {
  const suppressed = Boolean(metric.suppressed);
  const missing = !suppressed && (metric.value === null || metric.value === undefined);
  const interval = Array.isArray(metric.interval) && metric.interval.length === 2 && !suppressed
    ? el("span", { class: "drona-metric__interval" },
      `Likely between ${formatValue(metric.interval[0], metric.unit)} and ${formatValue(metric.interval[1], metric.unit)}`)
    : null;
  return el("li", { class: `drona-metric${suppressed ? " is-suppressed" : ""}`, "data-drona-metric": metric.id,
    "data-suppressed": String(suppressed) },
  el("span", { class: "drona-metric__label" }, metric.label),
  el("span", { class: "drona-metric__value" },
    suppressed ? hidden(k) : missing ? "Not enough data yet" : formatValue(metric.value, metric.unit)),
  interval,
  metric.help ? el("span", { class: "drona-metric__help" }, metric.help) : null);
}

/** A chart's section: the chart, a "Table" toggle that shows its values instead, and its CSV export. */
function chartSection(chart, csvBase, k, drillDown) {
  const body = [];
  if (chart.note) body.push(el("p", { class: "drona-field__hint" }, chart.note));
  if (chart.suppressed) {
    body.push(el("p", { class: "drona-notice", "data-drona-chart-suppressed": "" }, `${hidden(k)}.`));
  } else if (!chart.rows || !chart.rows.length) {
    body.push(el("p", { class: "drona-analytics__empty" }, "No data yet."));
  } else {
    const view = el("div", { class: "drona-chart__view" }, drawChart(chart));
    const linkOf = drillDown ? (row) => (row.user_id ? drillDownUrl(row.user_id) : null) : null;
    const table = el("div", { class: "drona-chart__tableview", hidden: true }, chartTable(chart, { linkOf }));
    const toggle = el("button", { type: "button", class: "drona-btn drona-btn--secondary", "aria-pressed": "false",
      "data-drona-chart-table": chart.id }, "Table", el("span", { class: "drona-visually-hidden" }, ` view: ${chart.title}`));
    toggle.addEventListener("click", () => {
      const showTable = toggle.getAttribute("aria-pressed") !== "true";
      toggle.setAttribute("aria-pressed", String(showTable));
      table.hidden = !showTable;
      view.hidden = showTable;
    });
    const csv = el("a", { class: "drona-btn drona-btn--secondary", "data-drona-chart-csv": chart.id,
      href: `${csvBase}?format=csv&chart=${encodeURIComponent(chart.id)}`, download: `${chart.id}.csv` },
    "Export CSV", el("span", { class: "drona-visually-hidden" }, `: ${chart.title}`));
    body.push(el("div", { class: "drona-chart__tools" }, toggle, csv), view, table);
  }
  return section(chart.title, { class: "drona-chart", "data-drona-chart": chart.id, "data-kind": chart.kind }, ...body);
}

/** A learner's own dashboard as their team's manager opens it. */
function drillDownUrl(userId) {
  return `${pages.progress()}?user=${encodeURIComponent(userId)}`;
}

function recommendationsSection(items) {
  const list = (kind) => items.filter((r) => r.kind === kind).map((r) => el("li", { "data-drona-recommendation": r.kind },
    el("a", { href: siteUrl(r.url) }, r.title), r.reason ? el("span", { class: "drona-field__hint" }, ` · ${r.reason}`) : null));
  const review = list("review");
  const next = list("next");
  return section("Recommendations", { class: "drona-analytics__recommendations" },
    el("h3", {}, "What to review"),
    review.length ? el("ul", {}, ...review) : el("p", {}, "Nothing to review now."),
    el("h3", {}, "What next"),
    next.length ? el("ul", {}, ...next) : el("p", {}, "Nothing suggested yet."));
}

function alertsSection(alerts, drillDown) {
  const items = alerts.map((a) => el("li", { class: "drona-analytics__alert", "data-drona-alert": a.kind },
    el("strong", {}, ALERTS[a.kind] || a.kind), ": ",
    drillDown && a.user_id ? el("a", { href: drillDownUrl(a.user_id) },
      a.name) : a.name,
    a.detail ? ` · ${a.detail}` : ""));
  return section("Alerts", { class: "drona-analytics__alerts" },
    items.length ? el("ul", {}, ...items) : el("p", {}, "No alerts: nobody is struggling, stuck or overdue."));
}

/** The dashboard of any level, from the API's answer; csvBase is the address it came from. */
export function renderDashboard(data, csvBase, { drillDown = false, someoneElse = false } = {}) {
  const k = data.k || 5;
  const parts = [];
  const level = LEVEL_NAMES[data.level] || data.level;
  parts.push(el("p", { class: "drona-analytics__subject" },
    el("strong", {}, data.subject && data.subject.name ? data.subject.name : level),
    data.generated_at ? ` · updated ${formatDateTime(data.generated_at)}` : ""));
  if (someoneElse) {
    parts.push(el("p", { class: "drona-notice", role: "note" },
      "You see this learner's progress as a manager of their team. They can see the same page."));
  }
  if (data.level !== "individual") {
    parts.push(el("p", { class: "drona-field__hint" },
      `To protect privacy, figures about fewer than ${plural(k, "person", "people")} are hidden.`));
  }
  const metrics = data.metrics || [];
  if (metrics.length) {
    parts.push(section("Key figures", { class: "drona-analytics__metrics" },
      el("ul", { class: "drona-metrics" }, ...metrics.map((m) => metricTile(m, k)))));
  }
  if (data.level === "individual" || (data.recommendations && data.recommendations.length)) {
    parts.push(recommendationsSection(data.recommendations || []));
  }
  if (data.level !== "individual" || (data.alerts && data.alerts.length)) {
    parts.push(alertsSection(data.alerts || [], drillDown));
  }
  for (const chart of data.charts || []) parts.push(chartSection(chart, csvBase, k, drillDown));
  return el("div", { class: "drona-analytics", "data-drona-analytics": data.level }, ...parts);
}

/** Loads one dashboard into root; a refusal (403, 404) is said in words. */
async function show(root, path, options) {
  let data;
  try {
    data = await api.get(path);
  } catch (err) {
    if (err instanceof ServerUnavailable) return needsServer(root);
    if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
      return notice(root, err.message);
    }
    throw err;
  }
  const { before, ...rest } = options || {};
  root.replaceChildren(...(before || []), renderDashboard(data, urls.api + path, rest));
  root.dataset.state = "ready";
  return data;
}

function param(name) {
  return new URLSearchParams(location.search).get(name);
}

/** The learner's own progress, or (?user=ID) a learner of a team the signed-in manager manages. */
export async function mountProgress(root) {
  loading(root, "Loading your progress…");
  const user = await requireUser(root, "see your progress");
  if (!user) return null;
  const other = param("user");
  const someoneElse = Boolean(other && other !== user.id);
  await show(root, someoneElse ? `analytics/users/${encodeURIComponent(other)}` : "analytics/me", { someoneElse });
  return null;
}

/** A team's dashboard (?team=ID); without one, the first team the signed-in user manages, with the others linked. */
export async function mountTeamAnalytics(root) {
  loading(root, "Loading the team dashboard…");
  const user = await requireUser(root, "see a team's dashboard");
  if (!user) return null;
  let teams = [];
  try {
    teams = (await api.get("teams")).filter((t) => t.my_role === "manager");
  } catch (err) {
    if (err instanceof ServerUnavailable) return needsServer(root);
  }
  const wanted = param("team") || (teams[0] && teams[0].id);
  if (!wanted) return notice(root, "You manage no team. A team's managers and its organisation's administrators see its dashboard.");
  const here = pages.teamAnalytics();
  const before = teams.length > 1 ? [el("nav", { class: "drona-analytics__teams", "aria-label": "Your teams" },
    el("ul", {}, ...teams.map((t) => el("li", {}, el("a", { href: `${here}?team=${encodeURIComponent(t.id)}`,
      "aria-current": t.id === wanted ? "page" : null }, t.name)))))] : [];
  await show(root, `analytics/teams/${encodeURIComponent(wanted)}`, { before, drillDown: true });
  return null;
}

/** An organisation's dashboard (?org=ID, else the signed-in user's own organisation). */
export async function mountOrgAnalytics(root) {
  loading(root, "Loading the organisation dashboard…");
  const user = await requireUser(root, "see your organisation's dashboard");
  if (!user) return null;
  const org = param("org") || user.organization_id;
  if (!org) return notice(root, "You are not a member of an organisation.");
  await show(root, `analytics/orgs/${encodeURIComponent(org)}`);
  return null;
}

/** The platform's dashboard: super admins only. */
export async function mountPlatformAnalytics(root) {
  loading(root, "Loading the platform dashboard…");
  const user = await requireUser(root, "see the platform dashboard");
  if (!user) return null;
  if (user.role !== "super_admin") return notice(root, "The platform dashboard is for the platform's super admins.");
  await show(root, "analytics/platform");
  return null;
}
