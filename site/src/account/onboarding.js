// The onboarding wizard (design §4.3): role → skill check → goals → learning style → your path →
// start learning. The server keeps the answers, so a learner who leaves comes back to the step
// where they were. Focus moves to each step's heading; every control is a labelled form field.
import { el, uniqueId } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { QuizItem } from "../quiz.js";
import { renderMarkdown } from "../markdown.js";
import { browserTimeZone, pages, siteUrl } from "../format.js";
import { currentUser } from "../session.js";
import { focusHeading, form, loading, needsServer, radioGroup, requireUser, selectField, field, showError } from "./forms.js";
import { timeZoneField } from "./timezone.js";

const STEPS = [
  ["role", "About you"],
  ["skill-check", "Skill check"],
  ["goals", "Goals"],
  ["learning-style", "Learning style"],
  ["path", "Your path"],
];

const ROLES = [
  { value: "student", label: "I'm a student", description: "Learning at school, university or a bootcamp." },
  { value: "professional", label: "I'm a working professional", description: "Building skills for my job." },
  { value: "self_learner", label: "I'm learning on my own", description: "Curious, changing careers, or learning for fun." },
];

const GOALS = [
  "Get a job as a developer",
  "Automate tasks at work",
  "Do well in my course",
  "Build a project of my own",
  "Learn for the fun of it",
];

const MINUTES = [
  ["30", "About 30 minutes a week"],
  ["60", "About 1 hour a week"],
  ["120", "About 2 hours a week"],
  ["180", "About 3 hours a week"],
  ["300", "About 5 hours a week"],
  ["600", "10 hours or more a week"],
];

const STYLES = [
  { value: "hands-on", label: "Hands-on", description: "Give me a problem; I learn by trying and fixing." },
  { value: "step-by-step", label: "Step by step", description: "Explain first, then let me practise." },
  { value: "explore", label: "Explore", description: "Let me poke around and follow my curiosity." },
  { value: "mixed", label: "A mix", description: "A bit of everything." },
];

class Onboarding {
  constructor(root) {
    this.root = root;
    this.root.classList.add("drona-wizard");
    this.start();
  }

  async start() {
    loading(this.root);
    const user = await requireUser(this.root, "set up your learning path");
    if (!user) return;
    this.user = user;
    try {
      const [state, catalog] = await Promise.all([api.get("onboarding"), api.get("catalog")]);
      this.state = state;
      const active = (catalog.tracks || []).filter((t) => t.status === "active");
      this.track = active[0] || (catalog.tracks || [])[0];
    } catch (err) {
      if (err instanceof ServerUnavailable) return needsServer(this.root);
      this.root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
      return;
    }
    if (!this.track) {
      this.root.replaceChildren(el("p", { class: "drona-notice" }, "There is no course to start yet."));
      return;
    }
    this.stepper = el("ol", { class: "drona-stepper", "aria-label": "Setup steps" });
    this.panel = el("div", { class: "drona-wizard__panel" });
    this.root.replaceChildren(this.stepper, this.panel);
    this.show(this.state.step, false);
  }

  renderStepper(current) {
    const index = STEPS.findIndex(([id]) => id === current);
    this.stepper.replaceChildren(...STEPS.map(([id, title], i) => {
      const done = current === "done" || i < index;
      const li = el("li", { class: "drona-stepper__step", "data-step": id, "data-done": done ? "true" : null },
        el("span", { class: "drona-stepper__num", "aria-hidden": "true" }, done ? "✓" : String(i + 1)),
        el("span", { class: "drona-stepper__title" }, title),
        done ? el("span", { class: "drona-visually-hidden" }, " (done)") : null);
      if (id === current) li.setAttribute("aria-current", "step");
      return li;
    }));
  }

  show(step, focus = true) {
    this.step = step;
    this.root.dataset.step = step;
    this.root.dataset.state = "ready";
    this.renderStepper(step);
    const views = {
      role: () => this.roleStep(),
      "skill-check": () => this.skillStep(),
      goals: () => this.goalsStep(),
      "learning-style": () => this.styleStep(),
      path: () => this.pathStep(),
      done: () => this.doneStep(),
    };
    const heading = (views[step] || views.role)();
    if (focus) focusHeading(heading);
  }

  frame(title, intro, ...body) {
    const index = STEPS.findIndex(([id]) => id === this.step);
    const heading = el("h2", { class: "drona-wizard__title", tabindex: "-1" },
      index >= 0 ? el("span", { class: "drona-wizard__count" }, `Step ${index + 1} of ${STEPS.length}: `) : null, title);
    this.panel.replaceChildren(heading, intro ? el("p", { class: "drona-wizard__intro" }, intro) : null, ...body);
    return heading;
  }

  back(step) {
    const b = el("button", { type: "button", class: "drona-btn drona-btn--secondary" }, "Back");
    b.addEventListener("click", () => this.show(step));
    return b;
  }

  roleStep() {
    const group = radioGroup({ legend: "Which describes you best?", name: "learner_kind", options: ROLES,
      value: this.state.learner_kind });
    const f = form({
      label: "About you",
      submitLabel: "Continue",
      children: [group.wrap],
      onSubmit: async () => {
        this.state = await api.post("onboarding/role", { learner_kind: group.value });
        this.show("skill-check");
      },
    });
    return this.frame("How are you learning?", "This sets sensible defaults, such as how much game you want in " +
      "your learning. You can change everything later in your settings.", f.node);
  }

  skillStep() {
    const heading = this.frame("What do you know already?",
      "A few quick questions show what you already know, so modules you have covered are marked optional. " +
      "Don't guess: leave a question blank if you're not sure.",
      el("p", { class: "drona-app__loading", role: "status" }, "Loading the questions…"));
    this.loadSkillCheck();
    return heading;
  }

  async loadSkillCheck() {
    let check;
    try {
      check = await api.get(`onboarding/skill-check?track_id=${encodeURIComponent(this.track.id)}`);
    } catch (err) {
      this.panel.querySelector(".drona-app__loading").textContent = `Could not load the questions: ${err.message}`;
      return;
    }
    if (this.step !== "skill-check") return;
    const items = (check.items || []).map((item, i) => {
      const node = el("div", {
        class: "drona-quiz-item",
        "data-item-id": item.id,
        "data-kind": item.kind,
        "data-config": JSON.stringify({ code: item.code || "", choices: item.choices || [] }),
        html: renderMarkdown(item.prompt),
      });
      return new QuizItem(node, i, () => {});
    });
    const list = el("div", { class: "drona-skillcheck" }, ...items.map((q) => q.node));
    const skip = el("button", { type: "button", class: "drona-btn drona-btn--link" }, "Skip: I'm new to all of this");
    const f = form({
      label: "Skill check",
      submitLabel: "Check my answers",
      children: [list],
      extra: el("span", { class: "drona-form__extra" }, this.back("role"), skip),
      onSubmit: async () => this.gradeSkillCheck(items, false),
    });
    skip.addEventListener("click", () => this.gradeSkillCheck([], true).catch((err) => showError(f.node, err)));
    this.panel.querySelector(".drona-app__loading").replaceWith(f.node);
  }

  async gradeSkillCheck(items, skipped) {
    const answers = {};
    for (const item of items) {
      const value = item.value;
      if (value !== null) answers[item.id] = value;
    }
    const result = await api.post("onboarding/skill-check", { track_id: this.track.id, answers });
    this.state = { ...this.state, state: { ...(this.state.state || {}), "skill-check": result } };
    const known = result.known_skills || [];
    const cont = el("button", { type: "button", class: "drona-btn drona-btn--primary" }, "Continue");
    cont.addEventListener("click", () => this.show("goals"));
    const heading = this.frame(skipped ? "No problem: we start at the beginning" : "Your skill check",
      null,
      el("div", { class: "drona-notice", role: "status", "data-drona-skill-result": "" },
        skipped ? el("p", {}, "Every module is on your path. You can skim what you know.") :
          el("p", {}, `You answered ${result.correct} of ${result.total} correctly.`),
        !skipped && known.length
          ? el("p", {}, "You already know: ", el("strong", {}, known.map(prettySkill).join(", ")),
            ". Modules that only teach these are marked optional on your path.")
          : (!skipped ? el("p", {}, "Every module is on your path: you'll learn it all from the start.") : null)),
      el("div", { class: "drona-form__actions" }, cont, this.back("skill-check")));
    focusHeading(heading);
  }

  goalsStep() {
    const saved = (this.state.state && this.state.state.goals) || {};
    const chosen = new Set(saved.goals || []);
    const boxes = GOALS.map((goal) => {
      const id = uniqueId("drona-goal");
      const input = el("input", { type: "checkbox", id, name: "goals", value: goal });
      input.checked = chosen.has(goal);
      return { input, wrap: el("div", { class: "drona-check" }, input, el("label", { for: id }, goal)) };
    });
    const own = (saved.goals || []).find((g) => !GOALS.includes(g)) || "";
    const other = field({ label: "Something else? In your own words", name: "other_goal", value: own, maxlength: 200 });
    const fieldset = el("fieldset", { class: "drona-choices", "data-field": "goals" },
      el("legend", { class: "drona-field__label" }, "What do you want to get out of learning to code?"),
      el("p", { class: "drona-field__hint" }, "Pick up to five."),
      ...boxes.map((b) => b.wrap), other.wrap,
      el("p", { class: "drona-field__error", id: uniqueId("drona-goals-error"), hidden: true }));
    const minutes = selectField({ label: "How much time can you give it?", name: "minutes_per_week", options: MINUTES,
      value: String(closest(saved.minutes_per_week || 120)) });
    const f = form({
      label: "Goals",
      submitLabel: "Continue",
      children: [fieldset, minutes.wrap],
      extra: this.back("skill-check"),
      onSubmit: async () => {
        const goals = boxes.filter((b) => b.input.checked).map((b) => b.input.value);
        if (other.input.value.trim()) goals.push(other.input.value.trim());
        const error = fieldset.querySelector(".drona-field__error");
        if (!goals.length || goals.length > 5) {
          error.textContent = goals.length ? "Pick at most five goals." : "Pick at least one goal, or write your own.";
          error.hidden = false;
          (boxes[0] && boxes[0].input).focus();
          return;
        }
        this.state = await api.post("onboarding/goals", { goals, minutes_per_week: Number(minutes.input.value) });
        this.show("learning-style");
      },
    });
    return this.frame("What are you aiming for?", "Your goals shape the suggestions you get along the way.", f.node);
  }

  styleStep() {
    const group = radioGroup({ legend: "How do you like to learn?", name: "learning_style", options: STYLES,
      value: this.state.state && this.state.state["learning-style"] });
    const f = form({
      label: "Learning style",
      submitLabel: "Continue",
      children: [group.wrap],
      extra: this.back("goals"),
      onSubmit: async () => {
        this.state = await api.post("onboarding/learning-style", { learning_style: group.value });
        this.show("path");
      },
    });
    return this.frame("How do you like to learn?", "Every lesson has you writing code; this sets the tutor's tone " +
      "and how much it explains before you try.", f.node);
  }

  pathStep() {
    const tz = timeZoneField({ label: "Your time zone", value: browserTimeZone(),
      hint: "Your day (and your streak) follows this clock. We filled in your browser's; change it if it's wrong." });
    const f = form({
      label: "Your path",
      submitLabel: "Build my path",
      children: [tz.wrap],
      extra: this.back("learning-style"),
      onSubmit: async () => {
        const path = await api.post("onboarding/complete", { track_id: this.track.id, timezone: tz.input.value });
        currentUser({ refresh: true }); // onboarded now: the header and other apps follow
        this.showPath(path, true);
      },
    });
    return this.frame("Your personalised path", `Almost done: we build your path through ${this.track.title}.`, f.node);
  }

  async doneStep() {
    const heading = this.frame("You're all set", null,
      el("p", { class: "drona-app__loading", role: "status" }, "Loading your path…"));
    try {
      const path = await api.get("progress/path");
      this.showPath(path, false);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        this.show("path", false);
        return heading;
      }
      this.panel.querySelector(".drona-app__loading").textContent = err.message;
    }
    return heading;
  }

  showPath(path, fresh) {
    this.step = "done";
    this.root.dataset.step = "done";
    this.renderStepper("done");
    const modules = path.modules || [];
    const optional = modules.filter((m) => m.optional).length;
    const list = el("ol", { class: "drona-path" }, ...modules.map((m) =>
      el("li", { class: `drona-path__module${m.optional ? " drona-path__module--optional" : ""}`,
        "data-optional": m.optional ? "true" : "false" },
      el("a", { href: siteUrl(m.url) }, m.title),
      m.optional ? el("span", { class: "drona-tag", title: "The skill check showed you know this already" },
        "Optional: you know this") : null)));
    const start = el("a", { class: "drona-btn drona-btn--primary drona-btn--big", href: siteUrl(path.start_url || ""),
      "data-drona-start": "" }, "Start learning");
    const redo = el("button", { type: "button", class: "drona-btn drona-btn--link" }, "Change my answers");
    redo.addEventListener("click", () => this.show("role"));
    const heading = this.frame(fresh ? "Your path is ready" : "Your learning path",
      `${modules.length} modules${optional ? `, ${optional} of them optional because you know them already` : ""}. ` +
      "You can see your progress along it on your dashboard.",
      list,
      el("div", { class: "drona-form__actions" }, start,
        el("a", { class: "drona-btn drona-btn--secondary", href: pages.dashboard() }, "Go to your dashboard"), redo));
    if (fresh) focusHeading(heading);
    return heading;
  }
}

function closest(minutes) {
  const values = MINUTES.map(([v]) => Number(v));
  return values.reduce((best, v) => (Math.abs(v - minutes) < Math.abs(best - minutes) ? v : best), values[0]);
}

function prettySkill(skill) {
  return String(skill).replace(/^[a-z]+\./, "").replace(/[-_]/g, " ");
}

export function mountOnboarding(root) {
  return new Onboarding(root);
}
