// The Silver assessment (§9.2): the overview of a course's exam (?course=<id>), then the attempt's four
// sections, each on a clock the server keeps (GET /api/assessments/attempts/{id} gives the deadline and
// the server's time; the countdown here only displays it). Answers are saved as they are given, so a
// learner who loses the network reloads and resumes; a section whose time ran out was submitted by the
// server with what was saved. Integrity signals (focus lost and back, paste sizes) are sent as events;
// nothing here scores anything. An attempt started with consent to camera checks runs them while it is
// open (../proctoring.js): only their outcomes are sent, as events.
import { el } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { formatDateTime } from "../format.js";
import { start as startCameraCheck } from "../proctoring.js";
import { focusHeading, loading, needsServer, requireUser, showError } from "./forms.js";

const WHAT = "take the Silver assessment";

function minutesSeconds(total) {
  const s = Math.max(0, Math.floor(total));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function actionButton(label, action, onClick, kind = "primary") {
  const b = el("button", { type: "button", class: `drona-btn drona-btn--${kind}`, "data-action": action }, label);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await onClick();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

class AssessmentApp {
  constructor(root, courseId) {
    this.root = root;
    this.courseId = courseId;
    this.attempt = null;
    this.clockOffset = 0; // server time minus browser time, in ms
    this.timer = null;
    this.itemStarted = performance.now();
    this.listeners = [];
    this.camera = null; // the camera checks while an attempt with them is open
  }

  dispose() {
    clearInterval(this.timer);
    this.stopCamera();
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
  }

  stopCamera() {
    if (this.camera) this.camera.stop();
    this.camera = null;
  }

  cameraCheck(attempt) {
    if (attempt.status !== "open") {
      this.stopCamera();
    } else if (attempt.proctoring && !this.camera) {
      this.camera = startCameraCheck(attempt, (kind, detail) => this.event(kind, detail));
      // Leaving the page (or closing it) releases the camera at once, not when the tab is collected.
      this.listen(window, "pagehide", () => this.stopCamera());
    }
  }

  listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.listeners.push([target, type, fn]);
  }

  async call(fn) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ServerUnavailable) {
        this.flash("The server cannot be reached. Your saved answers are safe: reload to resume.");
        return null;
      }
      if (err instanceof ApiError) {
        this.flash(err.message);
        if (err.status === 409 && this.attempt) await this.load(this.attempt.id);
        return null;
      }
      throw err;
    }
  }

  flash(message) {
    const box = this.root.querySelector("[data-drona-assessment-message]");
    if (box) box.textContent = message;
  }

  event(kind, detail = {}) {
    if (!this.attempt || this.attempt.status !== "open") return;
    const section = this.currentSection();
    api.post(`assessments/attempts/${this.attempt.id}/events`, {
      kind, section: section ? section.key : null, detail,
    }).catch(() => {});
  }

  watchIntegrity() {
    this.listen(document, "visibilitychange", () => this.event(document.hidden ? "focus_lost" : "focus_back"));
    this.listen(window, "blur", () => this.event("focus_lost"));
    this.listen(this.root, "paste", (e) => {
      const text = e.clipboardData ? e.clipboardData.getData("text") : "";
      this.event("paste", { chars: text.length });
    });
  }

  async showOverview() {
    const view = await api.get(`assessments/${encodeURIComponent(this.courseId)}`);
    if (view.open_attempt_id) return this.load(view.open_attempt_id);
    const heading = el("h2", {}, `${view.course_title}: Silver assessment`);
    const parts = [heading, el("p", { "data-drona-assessment-message": "", role: "status" })];
    if (!view.available) {
      parts.push(el("p", { class: "drona-notice" }, "This course has no Silver assessment yet."));
      this.root.replaceChildren(...parts);
      return heading;
    }
    parts.push(el("p", {}, `Four sections, each timed by the server. You pass with ${view.min_percent} % of all `,
      `points and no section below ${view.min_section_percent} %. Start each section when you are ready: its `,
      "clock starts then. If you lose your connection, reload this page: you continue where you were."));
    parts.push(el("table", { class: "drona-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Section"), el("th", {}, "Questions"), el("th", {}, "Minutes"),
        el("th", {}, "Points"))),
      el("tbody", {}, ...view.sections.map((s) => el("tr", {}, el("td", {}, s.title), el("td", {}, String(s.items)),
        el("td", {}, String(s.minutes)), el("td", {}, String(s.max_points)))))));
    const passed = view.attempts.find((a) => a.status === "passed");
    if (passed) {
      parts.push(el("p", { class: "drona-notice" }, "You passed this assessment."));
    } else if (view.retake_at) {
      parts.push(el("p", { class: "drona-notice" }, `A retake opens after the cool-down, at ${formatDateTime(view.retake_at)}.`));
    } else {
      let consent = null;
      if (view.proctoring_available) {
        consent = el("input", { type: "checkbox", id: "drona-consent-camera" });
        parts.push(el("p", {}, consent, el("label", { for: "drona-consent-camera" },
          " I agree to camera checks during this attempt. They run in this browser; no image leaves it.")));
      }
      parts.push(actionButton("Start the assessment", "start-attempt", async () => {
        const attempt = await this.call(() => api.post(`assessments/${encodeURIComponent(this.courseId)}/attempts`,
          { consent_camera: Boolean(consent && consent.checked) }));
        if (attempt) this.show(attempt);
      }));
    }
    if (view.attempts.length) {
      parts.push(el("h3", {}, "Your attempts"), el("ul", {}, ...view.attempts.map((a) => el("li", {},
        `Attempt ${a.number}: ${a.status}${a.percent === null ? "" : ` (${a.percent} %)`}`))));
    }
    this.root.replaceChildren(...parts);
    this.root.dataset.state = "overview";
    return heading;
  }

  async load(attemptId) {
    const attempt = await this.call(() => api.get(`assessments/attempts/${attemptId}`));
    if (attempt) this.show(attempt);
  }

  currentSection() {
    if (!this.attempt) return null;
    return this.attempt.sections.find((s) => !s.submitted_at) || null;
  }

  show(attempt) {
    this.attempt = attempt;
    this.clockOffset = new Date(attempt.server_time).getTime() - Date.now();
    this.itemStarted = performance.now();
    clearInterval(this.timer);
    this.cameraCheck(attempt);
    const heading = el("h2", {}, "Silver assessment");
    const parts = [heading, el("p", { "data-drona-assessment-message": "", role: "status", "aria-live": "polite" })];
    if (this.camera) parts.push(this.camera.indicator);
    parts.push(el("ol", { class: "drona-assessment__sections" }, ...attempt.sections.map((s) => el("li", {
      "data-section-status": s.key, "data-state": s.submitted_at ? "submitted" : s.started_at ? "running" : "waiting",
    }, `${s.title} (${s.minutes} min, ${s.max_points} points)`,
    s.submitted_at ? ` — ${s.reason === "timeout" ? "time ran out, submitted" : "submitted"}` : ""))));
    if (attempt.status !== "open") {
      parts.push(this.result(attempt));
    } else {
      const section = this.currentSection();
      if (section) parts.push(this.sectionView(section));
    }
    this.root.replaceChildren(...parts);
    this.root.dataset.state = attempt.status === "open" ? "running" : attempt.status;
    this.root.dataset.attemptId = attempt.id;
    return heading;
  }

  result(attempt) {
    const passed = attempt.status === "passed";
    return el("section", { class: "drona-assessment__result", "data-drona-assessment-result": attempt.status },
      el("h3", {}, passed ? "You passed" : "Not passed this time"),
      el("p", {}, `Overall: ${attempt.percent} %.`),
      el("ul", {}, ...attempt.sections.map((s) => el("li", { "data-section-score": s.key },
        `${s.title}: ${s.percent} %`))),
      passed && attempt.verify_url
        ? el("p", {}, el("a", { href: attempt.verify_url, class: "drona-btn drona-btn--primary",
          "data-drona-verify-link": "" }, "Your Silver certificate"))
        : el("p", {}, "You can try again after the cool-down. The review above shows each section's score."));
  }

  timerNode(section) {
    const node = el("p", { class: "drona-assessment__timer", "data-drona-timer": section.key, role: "timer" });
    const deadline = new Date(section.deadline).getTime();
    const tick = () => {
      const left = (deadline - (Date.now() + this.clockOffset)) / 1000;
      node.textContent = `Time left: ${minutesSeconds(left)}`;
      node.dataset.secondsLeft = String(Math.max(0, Math.floor(left)));
      if (left <= -this.attempt.grace_seconds) {
        clearInterval(this.timer);
        this.load(this.attempt.id); // the server has submitted the section
      }
    };
    tick();
    this.timer = setInterval(tick, 1000);
    return node;
  }

  sectionView(section) {
    const box = el("section", { class: "drona-assessment__section", "data-section": section.key });
    box.append(el("h3", {}, section.title));
    if (!section.started_at) {
      box.append(el("p", {}, `${section.planned_items} question${section.planned_items === 1 ? "" : "s"}, `,
        `${section.minutes} minutes. The clock starts when you press Start.`),
      actionButton(`Start: ${section.title}`, "start-section", async () => {
        const attempt = await this.call(() => api.post(
          `assessments/attempts/${this.attempt.id}/sections/${section.key}/start`));
        if (attempt) this.show(attempt);
      }));
      return box;
    }
    box.append(this.timerNode(section));
    const render = { conceptual: () => this.conceptual(section), analysis: () => this.analysis(section),
      coding: () => this.coding(section), design: () => this.design(section) }[section.key];
    box.append(...render());
    box.append(actionButton(`Submit the section: ${section.title}`, "submit-section", async () => {
      const attempt = await this.call(() => api.post(
        `assessments/attempts/${this.attempt.id}/sections/${section.key}/submit`));
      if (attempt) this.show(attempt);
    }, "secondary"));
    return box;
  }

  elapsed() {
    return Math.round(performance.now() - this.itemStarted);
  }

  async save(section, position, answer) {
    const attempt = await this.call(() => api.put(
      `assessments/attempts/${this.attempt.id}/sections/${section.key}/items/${position}`,
      { answer, active_ms: this.elapsed() }));
    if (attempt) this.show(attempt);
  }

  conceptual(section) {
    const current = section.items.find((i) => !i.answered);
    const done = section.items.filter((i) => i.answered).length;
    if (!current) return [el("p", {}, `You answered ${done} questions. Submit the section to go on.`)];
    const name = `drona-q-${current.position}`;
    const choices = current.choices.map((text, index) => el("li", {}, el("label", {},
      el("input", { type: "radio", name, value: String(index), "data-choice": String(index) }), " ", text)));
    return [el("p", { class: "drona-field__hint" }, `Question ${done + 1} of ${section.planned_items}. `,
      "Answers are final: the next question adapts to them."),
    el("fieldset", { class: "drona-assessment__item", "data-item-position": String(current.position),
      "data-item-id": current.item_id },
      el("legend", {}, current.prompt), el("ul", { class: "drona-choices" }, ...choices),
      actionButton("Answer", "answer", async () => {
        const picked = this.root.querySelector(`input[name="${name}"]:checked`);
        if (!picked) return this.flash("Choose an answer first.");
        return this.save(section, current.position, Number(picked.value));
      }))];
  }

  analysis(section) {
    return section.items.map((item) => {
      const field = item.kind === "find_bug"
        ? el("input", { type: "number", min: "1", step: "1", inputmode: "numeric", "aria-label": "Line number",
          value: item.answer === null || item.answer === undefined ? "" : String(item.answer) })
        : el("textarea", { rows: "3", "aria-label": "Predicted output", spellcheck: "false" },
          item.answer === null || item.answer === undefined ? "" : String(item.answer));
      const lines = String(item.code || "").split("\n").map((line, i) => `${String(i + 1).padStart(2, " ")}  ${line}`);
      return el("div", { class: "drona-assessment__item", "data-item-position": String(item.position),
        "data-item-id": item.item_id, "data-kind": item.kind, "data-answered": item.answered ? "true" : "false" },
      el("p", {}, item.prompt), el("pre", {}, el("code", {}, lines.join("\n"))),
      el("label", {}, item.kind === "find_bug" ? "The buggy line: " : "The output: ", field),
      actionButton(item.answered ? "Saved: save again" : "Save", "save", () => {
        const value = item.kind === "find_bug" ? Number(field.value) : field.value;
        return this.save(section, item.position, value);
      }, "secondary"));
    });
  }

  coding(section) {
    return section.items.map((item) => {
      const editor = el("textarea", { rows: "12", class: "drona-assessment__code", spellcheck: "false",
        "aria-label": `Your code for ${item.title || "this problem"}` },
      typeof item.answer === "string" ? item.answer : item.starter || "");
      const result = item.result
        ? el("p", { "data-drona-coding-result": `${item.result.passed}/${item.result.total}` },
          `Best so far: ${item.result.passed} of ${item.result.total} tests passed.`)
        : el("p", { class: "drona-field__hint" }, "Not submitted yet.");
      return el("div", { class: "drona-assessment__item", "data-item-position": String(item.position),
        "data-item-id": item.item_id, "data-kind": "coding" },
      el("h4", {}, item.title || `Problem ${item.position + 1}`), el("p", {}, item.prompt), editor, result,
      actionButton("Submit this code", "submit-code", async () => {
        this.flash("Grading…");
        const attempt = await this.call(() => api.post(
          `assessments/attempts/${this.attempt.id}/sections/coding/items/${item.position}/submissions`,
          { code: editor.value, active_ms: this.elapsed() }));
        if (attempt) this.show(attempt);
      }, "secondary"));
    });
  }

  design(section) {
    const item = section.items[0];
    if (!item) return [];
    const transcript = Array.isArray(item.answer) ? item.answer : [{ role: "assessor", text: item.prompt }];
    const over = transcript.length && transcript[transcript.length - 1].role !== "assessor";
    const log = el("ol", { class: "drona-assessment__interview", "data-drona-interview": "", "data-item-id": item.item_id },
      ...transcript.map((turn) => el("li", { "data-role": turn.role },
        el("strong", {}, turn.role === "learner" ? "You: " : "Assessor: "), turn.text)));
    if (over) return [log];
    const reply = el("textarea", { rows: "6", "aria-label": "Your answer" });
    return [log, reply, actionButton("Send", "reply", async () => {
      if (!reply.value.trim()) return this.flash("Write an answer first.");
      const attempt = await this.call(() => api.post(`assessments/attempts/${this.attempt.id}/sections/design/replies`,
        { text: reply.value }));
      if (attempt) this.show(attempt);
      return null;
    }, "secondary")];
  }
}

export async function mountAssessment(root) {
  loading(root);
  const user = await requireUser(root, WHAT);
  if (!user) return null;
  const params = new URLSearchParams(location.search);
  const courseId = params.get("course");
  const app = new AssessmentApp(root, courseId);
  try {
    if (params.get("attempt")) await app.load(params.get("attempt"));
    else if (courseId) await app.showOverview();
    else root.replaceChildren(el("p", { class: "drona-notice" }, "Open the assessment from a course page."));
    app.watchIntegrity();
    const heading = root.querySelector("h2");
    if (heading && document.activeElement === document.body) focusHeading(heading);
  } catch (err) {
    if (err instanceof ServerUnavailable) {
      needsServer(root);
      return null;
    }
    if (err instanceof ApiError) {
      root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }));
      showError(root.firstChild, err);
      return null;
    }
    throw err;
  }
  return app;
}
