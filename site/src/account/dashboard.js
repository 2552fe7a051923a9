// The learner's dashboard: continue learning, level and streak (with a 12-week calendar), course
// progress per module, an XP history chart (inline SVG) and achievements. Respects the
// gamification mode: minimal hides XP numbers and the chart; off hides every game element.
import { el, storage, uniqueId } from "../ui.js";
import { icon } from "../icons.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { addDays, formatDate, formatDay, formatNumber, localDay, pages, plural, siteUrl } from "../format.js";
import { currentProfile, gamificationMode, onSession } from "../session.js";
import { loading, needsServer, requireUser } from "./forms.js";

const SVG = "http://www.w3.org/2000/svg";
const WEEKS = 12;
const CHART_DAYS = 30;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function card(title, className, ...body) {
  const id = uniqueId("drona-card");
  return el("section", { class: `drona-dash-card ${className || ""}`.trim(), "aria-labelledby": id },
    el("h2", { id, class: "drona-dash-card__title" }, title), ...body);
}

function bar(fraction, label, className = "") {
  const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
  return el("div", { class: `drona-meter ${className}`.trim(), role: "progressbar", "aria-valuemin": "0",
    "aria-valuemax": "100", "aria-valuenow": String(pct), "aria-label": label },
  el("span", { class: "drona-meter__fill", style: `width: ${pct}%` }));
}

function titles(catalog) {
  const names = new Map();
  for (const track of catalog.tracks || []) {
    for (const course of track.courses || []) {
      names.set(course.id, course.title);
      for (const module of course.modules || []) {
        names.set(module.id, module.title);
        for (const lesson of module.lessons || []) names.set(lesson.id, lesson.title);
      }
    }
  }
  return names;
}

/** Lesson titles by their site-relative URL: the path names its first lesson by URL only. */
function lessonTitlesByUrl(catalog) {
  const byUrl = new Map();
  for (const track of catalog.tracks || []) {
    for (const course of track.courses || []) {
      for (const module of course.modules || []) {
        for (const lesson of module.lessons || []) byUrl.set(lesson.url, lesson.title);
      }
    }
  }
  return byUrl;
}

const ACTIVITY = {
  lesson: "Lesson completed",
  module: "Module finished",
  quiz: "Quiz passed",
  challenge: "Challenge solved",
  bronze: "Bronze certificate",
  silver: "Silver assessment",
  gold: "Gold project",
  achievement: "Achievement",
};

const BONUS = {
  first_attempt: "first try",
  streak: "streak",
  perfect_score: "perfect score",
  no_hints: "no hints",
  under_par: "under par time",
  exceptional_review: "exceptional review",
};

class Dashboard {
  constructor(root) {
    this.root = root;
    this.offProfile = onSession("profile", (p) => {
      if (p && this.data && p !== this.data.profile) {
        this.data.profile = p;
        this.render();
      }
    });
    this.load();
  }

  dispose() {
    this.offProfile();
  }

  async load() {
    loading(this.root, "Loading your dashboard…");
    const user = await requireUser(this.root, "see your dashboard");
    if (!user) return;
    try {
      const [progress, profile, catalog, path, review, assigned] = await Promise.all([
        api.get("progress"),
        currentProfile({ refresh: true }),
        api.get("catalog").catch(() => ({ tracks: [] })),
        api.get("progress/path").catch((err) => {
          if (err instanceof ApiError && err.status === 404) return null;
          throw err;
        }),
        api.get("review").catch(() => null),  // the review card is extra: the dashboard stands without it
        user.organization_id ? api.get("me/assignments").catch(() => []) : [],
      ]);
      this.data = { user, progress, profile, names: titles(catalog), lessonTitles: lessonTitlesByUrl(catalog), path,
        review, assigned };
    } catch (err) {
      if (err instanceof ServerUnavailable) return needsServer(this.root);
      this.root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
      return;
    }
    this.render();
  }

  render() {
    const { user, progress, profile, path } = this.data;
    const mode = gamificationMode(profile);
    const game = mode !== "off";
    const showXp = mode === "full" || mode === "moderate";
    this.root.dataset.mode = mode;
    const parts = [
      this.hello(user, progress, profile, path),
      !user.onboarded ? el("div", { class: "drona-notice", role: "status" },
        el("p", {}, "Tell us a little about you and we'll build your personal path through the course."),
        el("p", { class: "drona-notice__actions" },
          el("a", { class: "drona-btn drona-btn--primary", href: pages.onboarding() }, "Finish setting up"))) : null,
      this.data.assigned && this.data.assigned.length ? this.assignedCard(this.data.assigned) : null,
      el("div", { class: "drona-dash__grid" },
        this.continueCard(progress, path),
        this.data.review ? this.reviewCard(this.data.review) : null,
        game && profile ? this.levelCard(profile, showXp) : null,
        game && profile ? this.streakCard(profile) : null),
      this.coursesCard(progress, path),
      game && showXp && profile ? this.xpCard(profile, user) : null,
      game && profile ? this.achievementsCard(profile) : null,
    ];
    this.root.replaceChildren(...parts.filter(Boolean));
    this.root.dataset.state = "ready";
  }

  /** "Welcome back" only for a learner who has been here before: lessons started, XP earned, or an
   * earlier visit to this dashboard (remembered in this browser). Otherwise, where to start. */
  hello(user, progress, profile, path) {
    const key = `drona:dashboard:visited:${user.id}`;
    const started = (progress.lessons || []).some((l) => l.state && l.state !== "not_started");
    // Decided once per visit: a re-render (a profile update) must not turn this visit into a "return".
    if (this.returning === undefined) {
      this.returning = Boolean(storage.get(key));
      storage.set(key, new Date().toISOString());
    }
    const returning = started || (profile && Number(profile.xp) > 0) || this.returning;
    this.root.dataset.visit = returning ? "returning" : "first";
    if (returning) return el("p", { class: "drona-dash__hello" }, `Welcome back, ${user.display_name}.`);
    const next = progress.continue_lesson;
    const start = next && next.url
      ? { url: siteUrl(next.url), title: next.title || "your first lesson" }
      : path && path.start_url
        ? { url: siteUrl(path.start_url), title: this.data.lessonTitles.get(path.start_url) || "your personal path" }
        : { url: pages.home(), title: "a course from the catalog" };
    return el("p", { class: "drona-dash__hello" }, `Welcome, ${user.display_name}! Start with `,
      el("a", { href: start.url, "data-drona-first-lesson": "" }, start.title), ".");
  }

  continueCard(progress, path) {
    const next = progress.continue_lesson;
    let body;
    if (next && next.url) {
      body = [
        el("p", { class: "drona-dash__lead" }, next.state === "started" ? "Pick up where you left off:" : "Up next:"),
        el("p", { class: "drona-dash__next" }, el("strong", {}, next.title || "Your next lesson")),
        el("a", { class: "drona-btn drona-btn--primary", href: siteUrl(next.url), "data-drona-continue": "" },
          next.state === "started" ? "Continue" : "Start", el("span", { class: "drona-visually-hidden" }, `: ${next.title}`)),
      ];
    } else if (path && path.start_url) {
      body = [
        el("p", { class: "drona-dash__lead" }, "Your path is ready."),
        el("a", { class: "drona-btn drona-btn--primary", href: siteUrl(path.start_url), "data-drona-continue": "" },
          "Start learning"),
      ];
    } else {
      body = [
        el("p", { class: "drona-dash__lead" }, "Pick a course to begin."),
        el("a", { class: "drona-btn drona-btn--primary", href: pages.home(), "data-drona-continue": "" }, "Browse courses"),
      ];
    }
    return card("Continue learning", "drona-dash-card--continue", ...body);
  }

  /** Courses the learner's organisation requires, earliest due first, with where each stands. */
  assignedCard(assigned) {
    const words = { done: "Done", overdue: "Overdue", due_soon: "Due soon", open: "Due" };
    const rows = assigned.map((a) => el("li", { class: `drona-dash__assigned drona-dash__assigned--${a.state}`,
      "data-drona-assignment": a.state },
      el("a", { href: siteUrl(a.course_url) }, a.course_title),
      el("span", { class: "drona-dash__sub" },
        ` ${words[a.state]}${a.state === "done" ? "" : ` ${formatDate(a.due_at)}`} · ${Math.round(a.percent)}% done`,
        a.team_name ? ` · for ${a.team_name}` : "")));
    const late = assigned.filter((a) => a.state === "overdue").length;
    return card("Assigned to you", "drona-dash-card--assigned",
      late ? el("p", { class: "drona-notice drona-notice--error", role: "status" },
        `${plural(late, "course is", "courses are")} past due.`) : null,
      el("ul", { class: "drona-dash__list" }, ...rows));
  }

  /** The daily review: what is due, or that today's is done, and how well the learner keeps what they learned. */
  reviewCard(review) {
    const due = review.session.length;
    const kept = review.retention;
    const body = [];
    if (due) {
      body.push(el("p", { class: "drona-dash__big", "data-drona-dash-review-due": String(due) },
        `${plural(due, "item", "items")} to review`));
      body.push(el("a", { class: "drona-btn drona-btn--primary", href: pages.review(), "data-drona-review-start": "" },
        "Start today's review"));
    } else if (review.done_today) {
      body.push(el("p", { class: "drona-dash__lead", "data-drona-dash-review-due": "0" }, "✓ Today's review is done."));
    } else {
      body.push(el("p", { class: "drona-dash__lead", "data-drona-dash-review-due": "0" }, review.cards
        ? `Nothing due today.${review.next_due ? ` Next: ${formatDate(review.next_due)}.` : ""}`
        : "Quizzes and exercises you finish come back here, just before you'd forget them."));
    }
    if (kept && kept.reviews) {
      body.push(el("p", { class: "drona-dash__sub" }, `Recalled ${kept.recalled} of ${kept.reviews} reviews.`));
    }
    return card("Daily review", "drona-dash-card--review", ...body);
  }

  levelCard(profile, showXp) {
    const span = Math.max(1, profile.next_level_xp - profile.level_floor_xp);
    const into = Math.max(0, profile.xp - profile.level_floor_xp);
    return card("Level", "drona-dash-card--level",
      el("p", { class: "drona-dash__big" },
        el("span", { "data-drona-dash-level": String(profile.level) }, `Level ${profile.level}`),
        el("span", { class: "drona-dash__sub" }, profile.level_title)),
      bar(profile.level_progress, `Progress to level ${profile.level + 1}`),
      el("p", { class: "drona-dash__note" }, showXp
        ? `${formatNumber(profile.xp)} XP in total · ${formatNumber(span - into)} XP to level ${profile.level + 1}`
        : `${Math.floor(profile.level_progress * 100)}% of the way to level ${profile.level + 1}`));
  }

  streakCard(profile) {
    const streak = profile.streak || { current: 0, longest: 0, freezes: 0, calendar: {} };
    return card("Streak", "drona-dash-card--streak",
      el("p", { class: "drona-dash__big" },
        el("span", { class: `drona-flame${streak.current > 0 ? " is-active" : ""}`, "aria-hidden": "true" }, icon("fire")),
        el("span", { "data-drona-streak-current": String(streak.current) }, plural(streak.current, "day")),
        el("span", { class: "drona-dash__sub" }, streak.current > 0 ? "in a row" : "start one today")),
      el("p", { class: "drona-dash__note" },
        `Longest: ${plural(streak.longest, "day")} · `,
        el("span", { class: "drona-freeze" }, icon("snowflake"), ` ${plural(streak.freezes, "freeze")} held`),
        el("span", { class: "drona-field__hint drona-dash__why" },
          " A freeze covers a missed day by itself; you earn one for every 7 days in a row (2 at most).")),
      this.calendar(streak));
  }

  calendar(streak) {
    const today = streak.today || localDay(new Date());
    const calendar = streak.calendar || {};
    // Weeks start on Monday; the last column is the week of today.
    const [y, m, d] = today.split("-").map(Number);
    const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // 0 = Monday
    const start = addDays(today, -weekday - (WEEKS - 1) * 7);
    const grid = el("div", { class: "drona-cal__grid" });
    const months = el("div", { class: "drona-cal__months", "aria-hidden": "true" });
    let active = 0;
    let frozen = 0;
    for (let week = 0; week < WEEKS; week += 1) {
      const monday = addDays(start, week * 7);
      let label = "";
      for (let i = 0; i < 7; i += 1) {
        const day = addDays(monday, i);
        if (day.endsWith("-01") || (week === 0 && i === 0)) label = formatDay(day, { month: "short" });
      }
      months.append(el("span", {}, label));
      for (let i = 0; i < 7; i += 1) {
        const day = addDays(monday, i);
        const future = day > today;
        const kind = calendar[day] || "none";
        if (!future && kind === "active") active += 1;
        if (!future && kind === "frozen") frozen += 1;
        const what = kind === "active" ? "learned" : kind === "frozen" ? "streak freeze used" : "no activity";
        grid.append(el("span", {
          class: `drona-cal__day drona-cal__day--${future ? "future" : kind}${day === today ? " is-today" : ""}`,
          title: future ? "" : `${formatDay(day, { weekday: "short", month: "short", day: "numeric" })}: ${what}`,
          "data-day": day,
          "data-kind": future ? "future" : kind,
        }, kind === "frozen" && !future ? icon("snowflake") : null));
      }
    }
    const summary = `Last ${WEEKS} weeks: you learned on ${plural(active, "day")}` +
      (frozen ? ` and a streak freeze covered ${plural(frozen, "day")}` : "") + ".";
    return el("figure", { class: "drona-cal" },
      el("div", { class: "drona-cal__body", role: "img", "aria-label": summary },
        months,
        el("div", { class: "drona-cal__rows" },
          el("div", { class: "drona-cal__weekdays", "aria-hidden": "true" },
            ...["Mon", "", "Wed", "", "Fri", "", "Sun"].map((t) => el("span", {}, t))),
          grid)),
      el("figcaption", { class: "drona-cal__legend" },
        el("span", {}, el("i", { class: "drona-cal__day drona-cal__day--active", "aria-hidden": "true" }), "Learned"),
        el("span", {}, el("i", { class: "drona-cal__day drona-cal__day--frozen", "aria-hidden": "true" }, icon("snowflake")), "Freeze"),
        el("span", {}, el("i", { class: "drona-cal__day drona-cal__day--none", "aria-hidden": "true" }), "No activity"),
        el("span", { class: "drona-visually-hidden" }, summary)));
  }

  coursesCard(progress, path) {
    const optional = new Set(((path && path.modules) || []).filter((m) => m.optional).map((m) => m.module_id));
    const courses = progress.courses || [];
    if (!courses.length) {
      return card("Your courses", "drona-dash-card--courses",
        el("p", {}, "No lessons yet: your progress shows here once you start."));
    }
    return card("Your courses", "drona-dash-card--courses", ...courses.map((course) => {
      const id = uniqueId("drona-course");
      return el("div", { class: "drona-course", "data-course-id": course.course_id },
        el("h3", { id, class: "drona-course__title" }, course.title,
          el("span", { class: "drona-course__pct" }, `${Math.round(course.percent)}%`)),
        bar(course.percent / 100, `${course.title}: ${Math.round(course.percent)}% complete`, "drona-meter--course"),
        el("p", { class: "drona-dash__note" },
          `${course.completed_lessons} of ${plural(course.total_lessons, "lesson")} completed`),
        el("ul", { class: "drona-modules", "aria-labelledby": id }, ...(course.modules || []).map((m) =>
          el("li", { class: `drona-module${m.completed ? " is-complete" : ""}` },
            el("span", { class: "drona-module__title" }, m.title,
              optional.has(m.module_id) ? el("span", { class: "drona-tag" }, "Optional") : null),
            bar(m.total_lessons ? m.completed_lessons / m.total_lessons : 0,
              `${m.title}: ${m.completed_lessons} of ${m.total_lessons} lessons`),
            el("span", { class: "drona-module__count" }, m.completed ? "✓ Done" : `${m.completed_lessons}/${m.total_lessons}`)))));
    }));
  }

  xpCard(profile, user) {
    const history = profile.history || [];
    const tz = user.timezone || undefined;
    const today = (profile.streak && profile.streak.today) || localDay(new Date(), tz);
    const days = Array.from({ length: CHART_DAYS }, (_, i) => addDays(today, i - CHART_DAYS + 1));
    const perDay = new Map(days.map((d) => [d, 0]));
    for (const entry of history) {
      const day = localDay(new Date(entry.created_at), tz);
      if (perDay.has(day)) perDay.set(day, perDay.get(day) + entry.amount);
    }
    const values = days.map((d) => perDay.get(d));
    const total = values.reduce((a, b) => a + b, 0);
    const max = Math.max(...values, 0);
    const top = niceCeiling(max || 100);
    const titleId = uniqueId("drona-xp-title");
    const descId = uniqueId("drona-xp-desc");
    const best = values.reduce((b, v, i) => (v > values[b] ? i : b), 0);
    // Bars in an SVG that stretches to the card (one unit per day, 100 units high); the axis
    // labels are HTML so they keep their size on a phone.
    const chart = svg("svg", { class: "drona-xpchart", viewBox: `0 0 ${CHART_DAYS} 100`, role: "img",
      "aria-labelledby": `${titleId} ${descId}`, preserveAspectRatio: "none", focusable: "false" },
      svg("title", { id: titleId }, `XP earned per day, last ${CHART_DAYS} days`),
      svg("desc", { id: descId }, total
        ? `${formatNumber(total)} XP in ${CHART_DAYS} days; the best day was ${formatDay(days[best])} with ${formatNumber(values[best])} XP.`
        : `No XP earned in the last ${CHART_DAYS} days.`));
    for (const y of [0, 50, 100]) {
      chart.append(svg("line", { class: "drona-xpchart__grid", x1: 0, x2: CHART_DAYS, y1: y, y2: y,
        "vector-effect": "non-scaling-stroke" }));
    }
    const xLabels = el("div", { class: "drona-xpchart__x", "aria-hidden": "true" });
    values.forEach((v, i) => {
      const h = top ? (100 * v) / top : 0;
      chart.append(svg("rect", { class: `drona-xpchart__bar${days[i] === today ? " is-today" : ""}`, x: i + 0.15,
        y: (100 - h).toFixed(2), width: 0.7, height: h.toFixed(2) },
      svg("title", {}, `${formatDay(days[i])}: ${formatNumber(v)} XP`)));
      if (i % 7 === (CHART_DAYS - 1) % 7) {
        xLabels.append(el("span", { style: `left: ${(((i + 0.5) / CHART_DAYS) * 100).toFixed(2)}%` }, formatDay(days[i])));
      }
    });
    const yLabels = el("div", { class: "drona-xpchart__y", "aria-hidden": "true" },
      el("span", {}, formatNumber(top)), el("span", {}, formatNumber(Math.round(top / 2))), el("span", {}, "0"));
    const recent = history.slice(0, 5).map((entry) => {
      const [kind, id] = String(entry.source_key || "").split(":");
      const name = this.data.names.get(id);
      const bonuses = (entry.bonuses || []).map(([b, pct]) => `${BONUS[b] || b} +${pct}%`).join(", ");
      return el("li", {},
        el("span", { class: "drona-xp-amount" }, `+${formatNumber(entry.amount)} XP`),
        el("span", {}, `${ACTIVITY[entry.activity] || ACTIVITY[kind] || entry.activity}${name ? `: ${name}` : ""}`,
          bonuses ? el("span", { class: "drona-field__hint" }, ` (${bonuses})`) : null),
        el("time", { class: "drona-field__hint", datetime: entry.created_at }, formatDate(entry.created_at)));
    });
    return card("XP history", "drona-dash-card--xp",
      el("p", { class: "drona-dash__note" }, `${formatNumber(total)} XP in the last ${CHART_DAYS} days.`),
      el("div", { class: "drona-xpchart__wrap" }, yLabels,
        el("div", { class: "drona-xpchart__plot" }, el("div", { class: "drona-xpchart__bars" }, chart), xLabels)),
      recent.length ? el("h3", { class: "drona-dash__subhead" }, "Latest") : null,
      recent.length ? el("ul", { class: "drona-xp-list" }, ...recent) : el("p", {}, "No XP yet: complete a lesson to earn some."));
  }

  achievementsCard(profile) {
    const all = profile.achievements || [];
    const earned = all.filter((a) => a.earned_at);
    // Coming: the content or feature the badge needs is not published yet (the server says why).
    const coming = all.filter((a) => !a.earned_at && a.coming);
    const locked = all.filter((a) => !a.earned_at && !a.coming);
    const state = (a) => (a.earned_at ? "is-earned" : a.coming ? "is-coming" : "is-locked");
    const when = (a) => (a.earned_at ? `Earned ${formatDate(a.earned_at)}` : a.coming ? `Coming: ${a.coming_reason}` : "Not earned yet");
    const tile = (a) => el("li", { class: `drona-badge-tile ${state(a)}`, "data-slug": a.slug },
      el("span", { class: "drona-badge-tile__icon", "aria-hidden": "true" }, icon(a.earned_at ? "medal" : "lock")),
      el("span", { class: "drona-badge-tile__title" }, a.title),
      el("span", { class: "drona-badge-tile__desc" }, a.description),
      el("span", { class: "drona-badge-tile__when" }, when(a)));
    const open = earned.length + locked.length;
    return card("Achievements", "drona-dash-card--badges",
      el("p", { class: "drona-dash__note" }, earned.length
        ? `${plural(earned.length, "badge")} earned of ${open} you can earn today.`
        : "No badges yet: they come as you learn."),
      all.length ? el("ul", { class: "drona-badge-grid" }, ...earned.map(tile), ...locked.map(tile)) : null,
      coming.length ? el("h3", { class: "drona-dash__subhead" }, "Coming with new courses and features") : null,
      coming.length ? el("ul", { class: "drona-badge-grid" }, ...coming.map(tile)) : null);
  }
}

function niceCeiling(value) {
  const power = 10 ** Math.floor(Math.log10(Math.max(1, value)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= value) return m * power;
  return 10 * power;
}

export function mountDashboard(root) {
  return new Dashboard(root);
}
