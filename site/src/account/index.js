// The learner apps: each generated page holds <div class="drona-app" data-drona-app="NAME">. The pages
// and their names are the compiler's (sidecar/compiler/pages.py, APP_PAGES); tests/test_build.py
// checks that every one of them has its mount function here.
import { el } from "../ui.js";
import { mountReset, mountSignin, mountSignup } from "./auth.js";
import { mountOnboarding } from "./onboarding.js";
import { mountSettings } from "./settings.js";
import { mountDashboard } from "./dashboard.js";
import { mountLeaderboard } from "./leaderboard.js";
import { mountTutorHistory } from "./tutor-history.js";
import { mountInvitations } from "./invitations.js";
import { mountCertificates } from "./certificates.js";
import { mountAssessment } from "./assessment.js";
import { mountGoldProject } from "./gold.js";
import { mountReviews } from "./reviews.js";
import { mountReview } from "./review.js";
import { mountOrg } from "./org.js";
import { mountSupport } from "./support.js";
import { mountOrgAnalytics, mountPlatformAnalytics, mountProgress, mountTeamAnalytics } from "./analytics.js";

const APPS = {
  signin: mountSignin,
  signup: mountSignup,
  reset: mountReset,
  onboarding: mountOnboarding,
  settings: mountSettings,
  dashboard: mountDashboard,
  leaderboard: mountLeaderboard,
  "tutor-history": mountTutorHistory,
  invitations: mountInvitations,
  certificates: mountCertificates,
  assessment: mountAssessment,
  project: mountGoldProject,
  reviews: mountReviews,
  review: mountReview,
  org: mountOrg,
  support: mountSupport,
  progress: mountProgress,
  "team-analytics": mountTeamAnalytics,
  "org-analytics": mountOrgAnalytics,
  "platform-analytics": mountPlatformAnalytics,
};

/** Mount the app named by data-drona-app; returns {root, dispose} at once (apps load async). */
export function mountApp(root) {
  const name = root.dataset.dronaApp;
  const mount = APPS[name];
  const handle = { root, inner: null, dispose() {
    if (this.inner && typeof this.inner.dispose === "function") this.inner.dispose();
  } };
  if (!mount) {
    root.replaceChildren(el("p", { class: "drona-notice drona-notice--error" }, `Unknown app: ${name}`));
    return handle;
  }
  root.classList.add(`drona-app--${name}`);
  Promise.resolve(mount(root))
    .then((inner) => {
      handle.inner = inner;
    })
    .catch((err) => {
      console.error("drona: app failed", name, err);
      root.dataset.state = "error";
      root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" },
        "Something went wrong loading this page. Reload to try again."));
    });
  return handle;
}
