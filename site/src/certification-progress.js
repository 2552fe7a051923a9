// A course page's Certificates panel: where the signed-in learner stands on Bronze, Silver and
// Gold (GET /api/certifications/{course id}): earned (with its verification link), or each
// requirement with a tick when met (Bronze: every module, each quiz's best score against 70 %;
// Silver and Gold: what their domains report, with the way in: "Take the assessment", "Start your
// project"). Signed out or with no sidecar the panel stays as the compiler wrote it. A reward that
// carries a new certificate (Bronze is issued the moment its last requirement is met) refreshes it.
import { el } from "./ui.js";
import { siteUrl } from "./format.js";
import { api } from "./api.js";
import { currentUser } from "./session.js";
import { onReward } from "./rewards.js";

function requirementItem(req) {
  return el("li", { class: `drona-req${req.done ? " drona-req--done" : ""}`, "data-requirement": req.key },
    el("span", { "aria-hidden": "true", class: "drona-req__mark" }, req.done ? "✓" : "○"),
    el("span", { class: "drona-visually-hidden" }, req.done ? "Done: " : "To do: "),
    req.label, req.detail ? el("span", { class: "drona-req__detail" }, ` (${req.detail})`) : "");
}

function tierCard(tier) {
  const done = tier.requirements.filter((r) => r.done).length;
  const body = [];
  if (tier.earned) {
    body.push(el("p", { class: "drona-tier__earned" }, "Earned. ",
      el("a", { href: tier.verify_url, "data-drona-verify-link": "" }, "See its verification page")));
  } else if (!tier.available) {
    body.push(el("p", { class: "drona-field__hint" }, "This course does not offer this tier yet."));
  } else {
    if (tier.requirements.length) {
      body.push(el("p", { class: "drona-tier__count" }, `${done} of ${tier.requirements.length} requirements met`));
      body.push(el("ul", { class: "drona-reqs" }, ...tier.requirements.map(requirementItem)));
    }
    if (tier.state && tier.state.retake_at) {
      body.push(el("p", { class: "drona-field__hint" },
        `You can try again after ${new Date(tier.state.retake_at).toLocaleString()}.`));
    }
    if (tier.action_url) {
      body.push(el("p", {}, el("a", { class: "drona-btn drona-btn--secondary", href: siteUrl(tier.action_url),
        "data-drona-tier-action": tier.tier }, tier.tier === "silver" ? "Take the assessment" : "Start your project")));
    }
  }
  return el("li", { class: `drona-tier drona-tier--${tier.tier}`, "data-tier": tier.tier,
    "data-earned": tier.earned ? "true" : "false" },
  el("h3", { class: "drona-tier__title" }, tier.title, el("span", { class: "drona-tier__xp" }, ` · ${tier.xp} XP`)),
  el("p", { class: "drona-tier__description" }, tier.description), ...body);
}

export function mountCertificationProgress(root) {
  const courseId = root.dataset.courseId;
  const handle = { root, dispose() { if (this.off) this.off(); } };
  const heading = root.querySelector("h2");
  async function refresh() {
    const user = await currentUser();
    if (!user || !root.isConnected) return;
    let status;
    try {
      status = await api.get(`certifications/${encodeURIComponent(courseId)}`);
    } catch (_err) {
      return; // the static description stays
    }
    if (!root.isConnected) return;
    root.replaceChildren(heading, el("ul", { class: "drona-tiers" }, ...status.tiers.map(tierCard)));
    root.dataset.state = "ready";
  }
  handle.off = onReward((reward) => {
    if (reward && Array.isArray(reward.new_certificates) && reward.new_certificates.length) refresh();
  });
  refresh();
  return handle;
}
