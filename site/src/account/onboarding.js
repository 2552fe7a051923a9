// The onboarding wizard (design §4.3): role → skill check → goals → learning style → your path →
// start learning. The server keeps the answers, so a learner who leaves comes back to the step
// where they were. Focus moves to each step's heading; every control is a labelled form field.
import { el, uniqueId } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { QuizItem } from "../quiz.js";
import { renderMarkdown } from "../markdown.js";
import { browserTimeZone, nextUrl, pages, safeNext, siteUrl } from "../format.js";
import { currentUser } from "../session.js";
import { clearErrors, focusHeading, form, loading, needsServer, radioGroup, requireUser, selectField, field,
  showError } from "./forms.js";
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

// The page the learner was on when they signed up (?next=): "Start learning" takes them back there.
// The steps change no address, but a learner may reload or leave and come back in this tab, so it is
// kept for the tab's life too.
const NEXT_KEY = "drona:onboarding-next";

function rememberNext() {
  let next = nextUrl();
  try {
    if (next) {
      sessionStorage.setItem(NEXT_KEY, next);
    } else {
      const saved = sessionStorage.getItem(NEXT_KEY);
      const url = saved ? new URL(saved, location.href) : null;
      next = url && url.origin === location.origin ? safeNext(url.pathname + url.search + url.hash) : null;
    }
  } catch (_err) {
    // Storage blocked: ?next= alone still works.
  }
  return next;
}

function forgetNext() {
  try {
    sessionStorage.removeItem(NEXT_KEY);
  } catch (_err) {
    // nothing kept
  }
}

class Onboarding {
  constructor(root) {
    this.root = root;
    this.root.classList.add("drona-wizard");
    this.next = rememberNext();
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
    // replaceChildren() writes null as the text "null": leave out what is not there.
    this.panel.replaceChildren(...[heading, intro ? el("p", { class: "drona-wizard__intro" }, intro) : null, ...body]
      .filter((node) => node !== null && node !== undefined && node !== false));
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

  // The skill check is adaptive (the Assessor, POST ai/assess): one question at a time, chosen by the
  // server from every answer so far (a right first answer in a module skips its other question; two
  // misses in a module end the check). The request is stateless, so each one carries all the answers.
  // When the server says done it has stored the result in the onboarding state, as the fixed check did.
  skillStep() {
    this.skillSlot = el("div", { class: "drona-skillcheck-slot" },
      el("p", { class: "drona-app__loading", role: "status" }, "Loading the first question…"));
    const heading = this.frame("What do you know already?",
      "A few quick questions, one at a time, show what you already know, so modules you have covered are " +
      "marked optional. The questions follow your answers, so the check stops as soon as we know where you " +
      "stand. Don't guess: press “I'm not sure” if you don't know.",
      this.skillSlot);
    this.check = { answers: {}, asked: 0 };
    this.startSkillCheck(this.check, false);
    return heading;
  }

  /** The first question; a failure shows why, with Try again, Back and Skip. */
  async startSkillCheck(check, focus) {
    let step;
    try {
      step = await this.assess({});
    } catch (err) {
      if (this.check !== check || this.step !== "skill-check") return;
      const retry = el("button", { type: "button", class: "drona-btn drona-btn--primary" }, "Try again");
      const message = el("p", {}, `Could not load the questions. ${errorText(err)}`);
      const skip = this.skipButton(() => null, (skipErr) => {
        message.textContent = `Could not skip the check. ${errorText(skipErr)}`;
      });
      const notice = el("div",
        { class: "drona-notice drona-notice--error", role: "alert", "data-drona-skill-error": "" },
        message, el("div", { class: "drona-form__actions" }, retry, this.back("role"), skip));
      retry.addEventListener("click", () => {
        this.skillSlot.replaceChildren(
          el("p", { class: "drona-app__loading", role: "status" }, "Loading the first question…"));
        this.startSkillCheck(check, true);
      });
      this.skillSlot.replaceChildren(notice);
      if (focus) retry.focus();
      return;
    }
    if (this.check !== check || this.step !== "skill-check") return;
    this.skillCheckStep(check, {}, step, focus);
  }

  assess(answers) {
    return api.post("ai/assess", { track_id: this.track.id, onboarding: true, answers });
  }

  /** Apply the server's answer to `answers`: the next question, or the result when done. */
  skillCheckStep(check, answers, step, focus) {
    check.answers = answers;
    if (step.done || !step.item) {
      const feedback = step.feedback || [];
      this.showSkillResult({ track_id: this.track.id, known_skills: step.known_skills || [],
        correct: feedback.filter((f) => f.correct).length, total: feedback.length, adaptive: true }, false);
      return;
    }
    this.showQuestion(check, step.item, focus);
  }

  showQuestion(check, item, focus) {
    check.asked += 1;
    const number = check.asked;
    const node = el("div", {
      class: "drona-quiz-item",
      "data-item-id": item.id,
      "data-kind": item.kind,
      "data-config": JSON.stringify({ code: item.code || "", choices: item.choices || [] }),
      html: renderMarkdown(item.prompt || ""),
    });
    const question = new QuizItem(node, number - 1, () => {});
    // The question's number is its heading and the progress hint: an adaptive check has no fixed length.
    const title = el("h3", { class: "drona-quiz__number", tabindex: "-1" }, `Question ${number}`);
    node.querySelector(".drona-quiz__number").replaceWith(title);
    const wrap = el("div", { class: "drona-skillcheck", "data-question": String(number) }, node);
    const unsure = el("button", { type: "button", class: "drona-btn drona-btn--link", "data-drona-unsure": "" },
      "I'm not sure");
    const f = form({
      label: `Skill check, question ${number}`,
      submitLabel: "Next",
      children: [wrap],
      extra: el("span", { class: "drona-form__extra" }, unsure, this.back("role"), this.skipButton(() => f)),
      onSubmit: async () => {
        const value = question.value;
        if (value === null) {
          f.summary.textContent = "Answer the question, or press “I'm not sure” if you don't know.";
          f.summary.hidden = false;
          question.focus();
          return;
        }
        await this.answerSkill(check, item.id, value);
      },
    });
    unsure.addEventListener("click", () => busy(f, () => this.answerSkill(check, item.id, null)));
    this.skillSlot.replaceChildren(f.node);
    if (focus) focusHeading(title);
  }

  /** Send every answer so far plus this one (null: "I'm not sure"); errors reach the form. */
  async answerSkill(check, itemId, value) {
    const answers = { ...check.answers, [itemId]: value };
    let step;
    try {
      step = await this.assess(answers);
    } catch (err) {
      throw friendlyError(err);
    }
    if (this.check !== check || this.step !== "skill-check") return;
    this.skillCheckStep(check, answers, step, true);
  }

  /** "Skip: I'm new to all of this": the fixed check with no answers stores an all-unknown result.
   * Inside a question's form it shares the form's busy state and errors; elsewhere `onError` says why. */
  skipButton(getForm, onError) {
    const skip = el("button", { type: "button", class: "drona-btn drona-btn--link" }, "Skip: I'm new to all of this");
    const check = this.check;
    const run = async () => {
      const result = await api.post("onboarding/skill-check", { track_id: this.track.id, answers: {} });
      if (this.check !== check || this.step !== "skill-check") return;
      this.showSkillResult(result, true);
    };
    skip.addEventListener("click", () => {
      const f = getForm();
      if (f) {
        busy(f, run);
        return;
      }
      if (skip.getAttribute("aria-disabled") === "true") return;
      skip.setAttribute("aria-disabled", "true");
      run().catch((err) => {
        skip.setAttribute("aria-disabled", "false");
        if (onError) onError(err);
      });
    });
    return skip;
  }

  showSkillResult(result, skipped) {
    this.check = null; // a late answer from this check changes nothing now
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
    // Back to the lesson the learner signed up from, else the first lesson of their path.
    const start = el("a", { class: "drona-btn drona-btn--primary drona-btn--big",
      href: this.next || siteUrl(path.start_url || ""), "data-drona-start": "" }, "Start learning");
    start.addEventListener("click", forgetNext);
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

/** Run `work` from a button outside the form's submit, with the form's busy state and error summary. */
async function busy(f, work) {
  if (f.submit.getAttribute("aria-disabled") === "true") return;
  clearErrors(f.node);
  f.submit.setAttribute("aria-disabled", "true");
  f.node.setAttribute("aria-busy", "true");
  try {
    await work();
  } catch (err) {
    showError(f.node, friendlyError(err));
  } finally {
    f.submit.setAttribute("aria-disabled", "false");
    f.node.removeAttribute("aria-busy");
  }
}

/** The rate limit's own message speaks of the tutor: say it in the skill check's words, with the wait
 * from Retry-After. Other errors stay as they are. */
function friendlyError(err, answering = true) {
  if (!(err instanceof ApiError) || err.status !== 429) return err;
  const wait = err.retryAfter || (err.details && err.details.retry_after_seconds);
  let message = "Lots of requests in a short time, so the server asked for a short pause." +
    (answering ? " Your answers so far are kept." : "");
  if (wait) message += ` Try again in ${wait >= 120 ? Math.ceil(wait / 60) + " minutes" : wait + " seconds"}.`;
  return new ApiError(429, err.code, message); // no retryAfter: showError would add the wait again
}

/** An error as a sentence, for the notices outside a form. */
function errorText(err) {
  if (err instanceof ApiError) return friendlyError(err, false).message;
  if (err instanceof ServerUnavailable) {
    return "The Dronacharya server did not answer. Check your connection and try again.";
  }
  console.error("drona:", err);
  return "Something went wrong. Please try again.";
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
