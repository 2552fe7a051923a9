// The reviewer queue (§9.3): Gold submissions and custom project proposals of learners in the reviewer's
// scope (their organisation, or everyone for a platform reviewer), oldest first. A submission opens with
// its files, notes, live demo and the Project Guide's advisory pre-review; the reviewer scores each rubric
// category (prefilled with the suggestions), comments, and approves (the server refuses anything short
// of a pass and issues Gold) or returns it with feedback. The server checks every rule; this page shows.
import { el } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { formatDateTime } from "../format.js";
import { focusHeading, loading, needsServer, requireUser, showError } from "./forms.js";

const WHAT = "review Gold projects";

function summaryBox() {
  return el("div", { class: "drona-form__summary", role: "alert", tabindex: "-1", hidden: true });
}

function feedbackBox(name, label) {
  const id = `drona-review-${name}`;
  const input = el("textarea", { id, name, rows: 3, maxlength: 5000, class: "drona-input" });
  return { input, wrap: el("div", { class: "drona-field", "data-field": name },
    el("label", { for: id, class: "drona-field__label" }, label), input) };
}

class ReviewsApp {
  constructor(root) {
    this.root = root;
  }

  async decide(node, call) {
    try {
      await call();
      await this.showQueue();
    } catch (err) {
      showError(node, err);
    }
  }

  proposalCard(p) {
    const card = el("li", { class: "drona-review__proposal", "data-project": p.project_id }, summaryBox(),
      el("h4", {}, p.title), el("p", { class: "drona-field__hint" },
        `${p.learner_name} · ${p.course_title} · ${formatDateTime(p.created_at)}`),
      el("p", { class: "drona-review__description" }, p.description));
    const feedback = feedbackBox(`proposal-${p.project_id}`, "Feedback (required to return it)");
    const send = (decision) => this.decide(card, () => api.post(`reviews/proposals/${p.project_id}`,
      { decision, feedback: feedback.input.value }));
    card.append(feedback.wrap, el("p", {},
      el("button", { type: "button", class: "drona-btn drona-btn--primary", "data-action": "approve-proposal",
        onclick: () => send("approve") }, "Approve"), " ",
      el("button", { type: "button", class: "drona-btn drona-btn--secondary", "data-action": "return-proposal",
        onclick: () => send("return") }, "Return")));
    return card;
  }

  async showQueue() {
    const queue = await api.get("reviews/queue");
    if (!this.root.isConnected) return null;
    const heading = el("h2", {}, "Reviews");
    const parts = [heading, summaryBox()];
    parts.push(el("h3", {}, "Submissions"), queue.submissions.length
      ? el("ul", { class: "drona-review__queue" }, ...queue.submissions.map((s) => el("li", { "data-submission": s.id },
        el("button", { type: "button", class: "drona-btn drona-btn--secondary", "data-action": "open",
          onclick: () => this.showSubmission(s.id).catch((err) => showError(this.root, err)) },
        `${s.title} (${s.learner_name})`),
        ` ${s.course_title} · submission ${s.number} · ${formatDateTime(s.created_at)}`,
        s.suggested_percent === null ? "" : ` · suggested ${s.suggested_percent} %`)))
      : el("p", {}, "No submissions wait for you."));
    parts.push(el("h3", {}, "Project proposals"), queue.proposals.length
      ? el("ul", { class: "drona-review__proposals" }, ...queue.proposals.map((p) => this.proposalCard(p)))
      : el("p", {}, "No proposals wait for you."));
    this.root.replaceChildren(...parts);
    this.root.dataset.state = "queue";
    return heading;
  }

  async showFile(target, submissionId, path) {
    try {
      const file = await api.get(`reviews/submissions/${submissionId}/files/${path.split("/").map(encodeURIComponent)
        .join("/")}`);
      target.replaceChildren(el("pre", { class: "drona-review__file" }, el("code", {}, file.text)),
        file.truncated ? el("p", { class: "drona-field__hint" }, "Shortened: the file is longer.") : "");
    } catch (err) {
      target.replaceChildren(el("p", { class: "drona-notice drona-notice--error" }, err.message || "Not readable."));
    }
  }

  async showSubmission(id) {
    const view = await api.get(`reviews/submissions/${id}`);
    const s = view.submission;
    const heading = el("h2", {}, `${s.title}: submission ${s.number}`);
    const fileView = el("div", { class: "drona-review__file-view" });
    const inputs = {};
    const rows = s.criteria.map((c) => {
      const points = el("input", { type: "number", min: 0, max: c.max_points, step: "0.1", class: "drona-input",
        "aria-label": `${c.label} points (0 to ${c.max_points})`, name: `points-${c.key}` });
      if (c.suggested_points !== null) points.value = String(c.suggested_points);
      const comment = el("textarea", { rows: 2, maxlength: 2000, class: "drona-input",
        "aria-label": `${c.label} comment`, name: `comment-${c.key}` });
      inputs[c.key] = { points, comment };
      return el("tr", { "data-criterion": c.key },
        el("td", {}, el("strong", {}, c.label), el("details", {}, el("summary", {}, c.summary),
          el("ul", {}, ...c.findings.map((f) => el("li", {}, f.path ? `${f.path}${f.line ? `:${f.line}` : ""}: ` : "",
            f.message))))),
        el("td", {}, c.suggested_points === null ? "—" : `${c.suggested_points} / ${c.max_points}`),
        el("td", {}, points, ` / ${c.max_points}`), el("td", {}, comment));
    });
    const feedback = feedbackBox("feedback", "Overall feedback (required to return it)");
    const panel = el("section", { class: "drona-review__decision" }, summaryBox());
    const send = (decision) => this.decide(panel, () => {
      const scores = {};
      const comments = {};
      for (const [key, { points, comment }] of Object.entries(inputs)) {
        if (points.value !== "") scores[key] = Number(points.value);
        if (comment.value.trim()) comments[key] = comment.value;
      }
      return api.post(`reviews/submissions/${id}`, { decision, scores, comments, feedback: feedback.input.value });
    });
    panel.append(el("table", { class: "drona-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Criterion"), el("th", {}, "Suggested"), el("th", {}, "Score"),
        el("th", {}, "Comment for the learner"))), el("tbody", {}, ...rows)), feedback.wrap,
    el("p", {}, el("button", { type: "button", class: "drona-btn drona-btn--primary", "data-action": "approve",
      onclick: () => send("approve") }, "Approve and issue Gold"), " ",
    el("button", { type: "button", class: "drona-btn drona-btn--secondary", "data-action": "return",
      onclick: () => send("return") }, "Return with feedback")));
    this.root.replaceChildren(heading,
      el("p", {}, el("button", { type: "button", class: "drona-btn drona-btn--secondary",
        onclick: () => this.showQueue() }, "Back to the queue")),
      el("p", {}, `${view.learner_name} · ${s.source === "git" ? s.git_url : "uploaded archive"} · `,
        el("a", { href: s.demo_url, rel: "noopener noreferrer", target: "_blank" }, "live demo")),
      s.notes ? el("blockquote", {}, s.notes) : "",
      el("p", {}, s.tests ? `${s.tests.passed} of ${s.tests.total} tests pass in the sandbox.` : "A custom project: no "
        + "authored tests.", " ", s.ruff),
      el("p", { class: "drona-field__hint" }, s.advisory),
      el("details", {}, el("summary", {}, `Files (${s.files.length})`),
        el("ul", {}, ...s.files.map((f) => el("li", {}, el("button", { type: "button", class: "drona-btn",
          onclick: () => this.showFile(fileView, id, f.path) }, f.path), ` ${f.size} bytes`))), fileView),
      panel,
      el("details", {}, el("summary", {}, "Audit trail"), el("ol", {}, ...view.audit.map((a) => el("li", {},
        `${formatDateTime(a.at)}: ${a.action} by ${a.actor_name || "the Project Guide"} (${a.from_state || "—"} → `
        + `${a.to_state})`)))));
    this.root.dataset.state = "submission";
    focusHeading(heading);
  }
}

export async function mountReviews(root) {
  loading(root);
  const user = await requireUser(root, WHAT);
  if (!user) return null;
  const app = new ReviewsApp(root);
  try {
    const heading = await app.showQueue();
    if (heading && document.activeElement === document.body) focusHeading(heading);
  } catch (err) {
    if (err instanceof ServerUnavailable) {
      needsServer(root);
      return null;
    }
    if (!(err instanceof ApiError)) throw err;
    root.replaceChildren(el("p", { class: "drona-notice", role: "status" }, err.status === 403
      ? "This page is for reviewers: ask an administrator for the reviewer role." : err.message));
    root.dataset.state = "error";
  }
  return app;
}
