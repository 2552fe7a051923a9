// The learner's Gold project (§9.3) for a course (?course=<id>): choose one of the course's options or
// propose your own (a reviewer approves it), submit the project as a .zip (or a git URL where the
// server allows it) with a live demo URL and notes, and read the feedback per rubric criterion: the
// Project Guide's advisory pre-review and, once reviewed, the reviewer's scores and comments. Nothing
// here scores anything: the server pre-reviews, a reviewer decides.
import { el } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { urls } from "../config.js";
import { formatDateTime } from "../format.js";
import { field, focusHeading, form, loading, needsServer, requireUser, showError } from "./forms.js";

const WHAT = "work on your Gold project";
const STATUS = { pending: "waiting for a reviewer", returned: "returned with feedback", approved: "approved" };

/** POST multipart/form-data with the CSRF token (api.js sends JSON only). */
async function postForm(path, body) {
  const { csrf_token: token } = await api.get("auth/csrf");
  let response;
  try {
    response = await fetch(urls.api + path, { method: "POST", body, credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json", "X-CSRF-Token": token } });
  } catch (_err) {
    throw new ServerUnavailable("no server answered");
  }
  let answer;
  try {
    answer = await response.json();
  } catch (_err) {
    answer = null;
  }
  if (response.ok && answer) return answer;
  const error = answer && answer.error;
  if (!error) throw new ServerUnavailable(`HTTP ${response.status}`, response.status);
  throw new ApiError(response.status, error.code, error.message, error.details === undefined ? null : error.details);
}

function textArea({ label, name, maxlength, required = false, rows = 4 }) {
  const id = `drona-gold-${name}`;
  const input = el("textarea", { id, name, maxlength, required, rows, class: "drona-input" });
  return { input, wrap: el("div", { class: "drona-field", "data-field": name },
    el("label", { for: id, class: "drona-field__label" }, label), input,
    el("p", { class: "drona-field__error", hidden: true })) };
}

function criteriaTable(submission) {
  return el("table", { class: "drona-table drona-gold__criteria" },
    el("thead", {}, el("tr", {}, el("th", {}, "Criterion"), el("th", {}, "Suggested"), el("th", {}, "Score"),
      el("th", {}, "Comment"))),
    el("tbody", {}, ...submission.criteria.map((c) => el("tr", { "data-criterion": c.key },
      el("td", {}, c.label, el("details", {}, el("summary", {}, c.summary),
        el("ul", {}, ...c.findings.map((f) => el("li", { class: `drona-gold__finding--${f.severity}` },
          f.path ? `${f.path}${f.line ? `:${f.line}` : ""}: ` : "", f.message))))),
      el("td", {}, c.suggested_points === null ? "—" : `${c.suggested_points} / ${c.max_points}`),
      el("td", {}, c.points === null ? "—" : `${c.points} / ${c.max_points}`),
      el("td", {}, c.comment || "")))));
}

function submissionCard(s) {
  const tests = s.tests ? `${s.tests.passed} of ${s.tests.total} tests pass.` : "No authored tests (a custom project).";
  return el("li", { class: `drona-gold__submission drona-gold__submission--${s.status}`, "data-submission": s.id },
    el("h4", {}, `Submission ${s.number}: ${STATUS[s.status] || s.status}`),
    el("p", { class: "drona-field__hint" }, `${formatDateTime(s.created_at)} · ${s.files.length} files · `,
      el("a", { href: s.demo_url, rel: "noopener noreferrer", target: "_blank" }, "live demo")),
    s.feedback ? el("p", { class: "drona-notice" }, el("strong", {}, "Reviewer: "), s.feedback) : null,
    s.percent === null ? null : el("p", {}, `Reviewed: ${s.percent} % overall.`),
    s.verify_url ? el("p", {}, el("a", { href: s.verify_url, class: "drona-btn drona-btn--primary" },
      "Your Gold certificate")) : null,
    el("p", {}, tests, " ", s.ruff), el("p", { class: "drona-field__hint" }, s.advisory),
    criteriaTable(s));
}

class GoldApp {
  constructor(root, courseId) {
    this.root = root;
    this.courseId = courseId;
    this.path = `projects/${encodeURIComponent(courseId)}`;
  }

  async refresh() {
    const [state, options] = await Promise.all([api.get(this.path), api.get(`${this.path}/options`)]);
    if (!this.root.isConnected) return null;
    return this.render(state, options);
  }

  async act(node, call) {
    try {
      await call();
      await this.refresh();
    } catch (err) {
      showError(node, err);
    }
  }

  optionCard(option) {
    const card = el("li", { class: "drona-gold__option", "data-option": option.id },
      el("div", { class: "drona-form__summary", role: "alert", tabindex: "-1", hidden: true }),
      el("h4", {}, option.title), el("p", {}, option.summary),
      el("details", {}, el("summary", {}, "The brief and what the reviewer checks"),
        el("p", { class: "drona-gold__brief" }, option.brief),
        el("ul", {}, ...option.requirements.map((r) => el("li", {}, r))),
        el("p", {}, "Your project must contain ", el("code", {}, option.entry), `; ${option.visible_tests.length} `,
          `visible and ${option.hidden_tests} hidden tests run on it.`)));
    card.append(el("button", { type: "button", class: "drona-btn drona-btn--secondary", "data-action": "choose",
      onclick: () => this.act(card, () => api.post(`${this.path}/choice`, { option_id: option.id })) },
    "Choose this project"));
    return card;
  }

  proposalForm() {
    const title = field({ label: "Title", name: "title", required: true, minlength: 3, maxlength: 200 });
    const description = textArea({ label: "What you will build, for whom, and what done looks like",
      name: "description", maxlength: 5000, required: true });
    return form({ label: "Propose your own project", submitLabel: "Send the proposal",
      children: [el("h3", {}, "Or propose your own"), title.wrap, description.wrap],
      onSubmit: async () => {
        await api.post(`${this.path}/proposal`, { title: title.input.value, description: description.input.value });
        await this.refresh();
      } }).node;
  }

  submissionForm(state) {
    const archive = el("input", { type: "file", name: "archive", accept: ".zip,application/zip", id: "drona-gold-zip",
      class: "drona-input" });
    const demo = field({ label: "Live demo URL", name: "demo_url", type: "url", required: true, maxlength: 2048,
      placeholder: "https://" });
    const git = state.git_submissions ? field({ label: "Or a git URL (instead of an archive)", name: "git_url",
      type: "url", maxlength: 2048 }) : null;
    const notes = textArea({ label: "Notes for the reviewer", name: "notes", maxlength: 5000 });
    return form({ label: "Submit your project", submitLabel: "Submit for review",
      children: [el("h3", {}, "Submit your project"),
        el("div", { class: "drona-field", "data-field": "archive" },
          el("label", { for: "drona-gold-zip", class: "drona-field__label" },
            `The project as a .zip archive (at most ${state.upload_limit_mb} MB)`), archive,
          el("p", { class: "drona-field__error", hidden: true })),
        git ? git.wrap : null, demo.wrap, notes.wrap,
        el("p", { class: "drona-field__hint" }, "The Project Guide runs the option's tests and checks code, tests, ",
          "documentation and deployment at once; a reviewer then decides.")],
      onSubmit: async (f) => {
        const body = new FormData();
        if (archive.files && archive.files[0]) body.append("archive", archive.files[0]);
        if (git && git.input.value) body.append("git_url", git.input.value);
        body.append("demo_url", demo.input.value);
        body.append("notes", notes.input.value);
        f.status.textContent = "Checking your project…";
        await postForm(`${this.path}/submissions`, body);
        await this.refresh();
      } }).node;
  }

  render(state, options) {
    const heading = el("h2", {}, `${state.course_title}: Gold project`);
    const rubric = state.rubric;
    const parts = [heading, el("p", {}, `A reviewer scores your project out of ${rubric.categories.map(
      (c) => `${c.label} ${c.max_points}`).join(", ")}. Gold needs ${rubric.pass_percent} % overall and no `,
    `category below ${rubric.min_category_percent} %.`)];
    const latest = state.submissions[0];
    const project = state.project;
    const locked = latest && (latest.status === "pending" || latest.status === "approved");
    if (state.verify_url) {
      parts.push(el("p", { class: "drona-notice" }, "You earned Gold. ",
        el("a", { href: state.verify_url }, "Open its verification page")));
    } else if (project && project.status === "proposed") {
      parts.push(el("p", { class: "drona-notice", role: "status" },
        `Your proposal “${project.title}” waits for a reviewer.`));
    } else if (project && project.status === "active" && !locked) {
      parts.push(el("p", {}, "Your project: ", el("strong", {}, project.title)), this.submissionForm(state));
    } else if (latest && latest.status === "pending") {
      parts.push(el("p", { class: "drona-notice", role: "status" }, "Your submission waits for a reviewer."));
    }
    if (project && project.status === "returned") {
      parts.push(el("p", { class: "drona-notice" }, `Your proposal “${project.title}” came back: `,
        project.feedback || ""));
    }
    if (!locked && !state.verify_url) {
      const choose = [el("h3", {}, project ? "Choose another project" : "Choose a project"),
        options.length ? el("ul", { class: "drona-gold__options" }, ...options.map((o) => this.optionCard(o)))
          : el("p", {}, "This course has no predefined projects."), this.proposalForm()];
      parts.push(project && project.status === "active"
        ? el("details", {}, el("summary", {}, "Change your project"), ...choose) : el("section", {}, ...choose));
    }
    if (state.submissions.length) {
      parts.push(el("h3", {}, "Your submissions"),
        el("ul", { class: "drona-gold__submissions" }, ...state.submissions.map(submissionCard)));
    }
    this.root.replaceChildren(...parts);
    this.root.dataset.state = state.verify_url ? "earned" : (project ? project.status : "choosing");
    return heading;
  }
}

export async function mountGoldProject(root) {
  loading(root);
  const user = await requireUser(root, WHAT);
  if (!user) return null;
  const courseId = new URLSearchParams(location.search).get("course");
  if (!courseId) {
    root.replaceChildren(el("p", { class: "drona-notice" }, "Open this page from a course's Certificates panel."));
    return null;
  }
  const app = new GoldApp(root, courseId);
  try {
    const heading = await app.refresh();
    if (heading && document.activeElement === document.body) focusHeading(heading);
  } catch (err) {
    if (err instanceof ServerUnavailable) {
      needsServer(root);
      return null;
    }
    if (!(err instanceof ApiError)) throw err;
    root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }, err.message));
  }
  return app;
}
