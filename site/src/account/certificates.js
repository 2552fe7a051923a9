// The learner's certificates (GET /api/me/certificates), newest first: each with its verification
// page, the printable certificate in the formats of §4.2 (academic, LinkedIn-ready, shareable, and
// the company-branded one when the learner belongs to an organisation), the PDF, the signed Open
// Badges credential, the offline verification bundle and "Add to LinkedIn profile". Every link is
// built by the server (the API's *_url fields): this page only lays them out.
import { el } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { formatDate, pages } from "../format.js";
import { focusHeading, loading, needsServer, requireUser, showError } from "./forms.js";

const WHAT = "see your certificates";
const FORMATS = [
  ["academic", "Academic"],
  ["linkedin", "LinkedIn-ready"],
  ["shareable", "Shareable"],
];

function link(href, text, attrs = {}) {
  return el("a", { href, ...attrs }, text);
}

function certificateCard(cert, { company }) {
  const formats = company ? [...FORMATS, ["company", "Company-branded"]] : FORMATS;
  const score = cert.percent_overall === null || cert.percent_overall === undefined
    ? null : `${cert.percent_overall} % overall`;
  return el("li", { class: `drona-cert drona-cert--${cert.tier}`, "data-credential-id": cert.credential_id,
    "data-drona-certificate": cert.tier },
  el("p", { class: "drona-cert__tier" }, cert.tier_title),
  el("h3", { class: "drona-cert__title" }, cert.course_title),
  el("p", { class: "drona-cert__meta" }, `Issued ${formatDate(cert.issued_at)}`, score ? ` · ${score}` : "",
    cert.status === "revoked" ? el("strong", { class: "drona-cert__revoked" }, " · Revoked") : ""),
  el("p", { class: "drona-cert__actions" },
    link(cert.verify_url, "Verification page", { class: "drona-btn drona-btn--primary", "data-drona-verify-link": "" }),
    link(cert.linkedin_url, "Add to LinkedIn profile", { class: "drona-btn drona-btn--secondary", rel: "noopener",
      target: "_blank" })),
  el("details", { class: "drona-cert__more" },
    el("summary", {}, "Print, download and share"),
    el("ul", { class: "drona-cert__links" },
      ...formats.map(([key, name]) => el("li", {}, link(`${cert.print_url}?format=${key}`, `Print: ${name}`))),
      el("li", {}, link(cert.pdf_url, "PDF", { download: "" })),
      el("li", {}, link(cert.credential_url, "Open Badges 3.0 credential (JSON)", { download: "" })),
      el("li", {}, link(cert.bundle_url, "Offline verification bundle (for drona verify)", { download: "" })))));
}

function render(root, user, certificates) {
  const heading = el("h2", {}, "Your certificates");
  if (!certificates.length) {
    root.replaceChildren(heading, el("p", { class: "drona-notice", role: "status" },
      "No certificates yet. Finish every module of a course with at least 70 % on its quizzes and its Bronze ",
      "certificate is issued at once; each course page shows what is left for Bronze, Silver and Gold. ",
      el("a", { href: pages.home() }, "Find a course")));
    root.dataset.state = "empty";
    return heading;
  }
  const company = Boolean(user.organization_id);
  root.replaceChildren(heading,
    el("p", { class: "drona-field__hint" },
      "Anyone can check a certificate on its verification page, without an account. The credential is signed ",
      "(Open Badges 3.0) and logged in a public transparency log, so it stays verifiable even offline."),
    el("ul", { class: "drona-certs" }, ...certificates.map((c) => certificateCard(c, { company }))));
  root.dataset.state = "ready";
  return heading;
}

export async function mountCertificates(root) {
  loading(root);
  const user = await requireUser(root, WHAT);
  if (!user) return null;
  try {
    const certificates = await api.get("me/certificates");
    if (!root.isConnected) return null;
    const heading = render(root, user, Array.isArray(certificates) ? certificates : []);
    if (document.activeElement === document.body) focusHeading(heading);
  } catch (err) {
    if (err instanceof ServerUnavailable) {
      needsServer(root);
      return null;
    }
    if (err instanceof ApiError) {
      root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" }));
      showError(root.firstChild, err);
      root.dataset.state = "error";
      return null;
    }
    throw err;
  }
  return null;
}
