// Sign in (with a password, or with an emailed one-time link: #link= opens it), sign up and password
// reset (request a link; with #token=, choose a new password).
//
// Emailed tokens travel in the URL fragment, which browsers never send to a server (so they stay out of
// access logs and Referer headers); the page reads it, then removes it from the address bar.
import { el } from "../ui.js";
import { api, ApiError } from "../api.js";
import { carryNext, nextUrl, pages } from "../format.js";
import { urls } from "../config.js";
import { currentUser, isServerUnavailable, setUser, signOut } from "../session.js";
import { field, focusHeading, form, loading, needsServer } from "./forms.js";

/** Where a learner goes once signed in or up: back to the page they came from (?next=, same site
 * only), through onboarding first if it is not done; onboarding carries ?next= on to its end. */
function afterSignIn(user) {
  const next = nextUrl();
  if (!user.onboarded) return carryNext(pages.onboarding(), next);
  return next || pages.dashboard();
}

/** Another auth page (sign in ↔ sign up), keeping the place to come back to. */
function sibling(page) {
  return carryNext(page, nextUrl());
}

/** A value of the URL fragment (#name=value&…), or of the query for links mailed before fragments. */
function emailedToken(name) {
  const fromHash = new URLSearchParams(location.hash.replace(/^#/, "")).get(name);
  const query = new URLSearchParams(location.search);
  const value = fromHash || query.get(name);
  if (value) {
    query.delete(name);
    const rest = query.toString();
    history.replaceState(history.state, "", location.pathname + (rest ? `?${rest}` : ""));
  }
  return value;
}

let watchingLinks = false;

/** An emailed link opened over this very page changes only the fragment (no page load): load it. */
export function reloadOnEmailedLink(pattern = /(^#|&)(token|link|invitation)=/) {
  if (watchingLinks) return;
  watchingLinks = true;
  window.addEventListener("hashchange", () => {
    if (pattern.test(location.hash)) location.reload();
  });
}

/** "Email me a sign-in link": the way in that always works, even while the password is being throttled. */
function linkRequest(root, emailValue) {
  const email = field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true,
    value: emailValue || "", hint: "We email you a link that signs you in once, within 15 minutes." });
  const f = form({
    label: "Email me a sign-in link",
    className: "drona-form--narrow",
    submitLabel: "Email me a sign-in link",
    children: [email.wrap],
    onSubmit: async () => {
      await api.post("auth/signin-link", { email: email.input.value.trim() });
      const heading = el("h2", {}, "Check your email");
      root.replaceChildren(el("div", { class: "drona-notice drona-notice--success", role: "status" },
        heading,
        el("p", {}, "If an account exists for ", el("strong", {}, email.input.value.trim()),
          ", a sign-in link is on its way. It works once, for 15 minutes."),
        el("p", { class: "drona-field__hint" },
          "Running Dronacharya yourself without email set up? The email is a file in ", el("code", {}, "data/outbox/"),
          ".")),
        el("p", { class: "drona-app__links" }, el("a", { href: pages.signin() }, "Back to sign in")));
      focusHeading(heading);
    },
  });
  root.replaceChildren(f.node, el("p", { class: "drona-app__links" }, el("a", { href: pages.signin() }, "Back to sign in")));
  root.dataset.state = "ready";
  email.input.focus();
}

/** An emailed sign-in link was opened: sign in on a click (mail scanners that fetch links do not click). */
function confirmLink(root, token) {
  const f = form({
    label: "Sign in with your emailed link",
    className: "drona-form--narrow",
    submitLabel: "Sign in",
    children: [el("p", {}, "You opened a sign-in link from your email. It works once.")],
    onSubmit: async ({ status }) => {
      status.textContent = "Signing in…";
      const me = await api.post("auth/signin-link/confirm", { token });
      setUser(me);
      status.textContent = "Signed in. Taking you on…";
      location.assign(afterSignIn(me));
    },
  });
  root.replaceChildren(f.node, el("p", { class: "drona-app__links" }, "Link expired or used? ",
    el("a", { href: pages.signin() }, "Sign in another way")));
  root.dataset.state = "ready";
}

function signedInNotice(root, user) {
  const out = el("button", { type: "button", class: "drona-btn drona-btn--secondary" }, "Sign out");
  out.addEventListener("click", async () => {
    try {
      await signOut();
    } finally {
      location.reload();
    }
  });
  root.replaceChildren(el("div", { class: "drona-notice", role: "status" },
    el("p", {}, "You are signed in as ", el("strong", {}, user.display_name), ` (${user.email}).`),
    el("p", { class: "drona-notice__actions" },
      el("a", { class: "drona-btn drona-btn--primary",
        href: user.onboarded ? pages.dashboard() : carryNext(pages.onboarding(), nextUrl()) },
        user.onboarded ? "Go to your dashboard" : "Finish setting up"),
      out)));
  root.dataset.state = "signed-in";
}

/** "Use single sign-on (SSO)": a work email (its verified domain finds the
 * organisation) or the organisation's name; the browser then goes to the organisation's identity provider
 * through GET /api/sso/start, and comes back signed in (or here, with ?sso_error= saying why not). */
function ssoEntry() {
  const open = el("button", { type: "button", class: "drona-btn drona-btn--secondary", "aria-expanded": "false",
    "aria-controls": "drona-sso-form" }, "Use single sign-on (SSO)");
  const who = field({ label: "Work address or organisation", name: "sso", autocomplete: "username", required: true,
    maxlength: 320, hint: "Your work address, or your organisation's name as it is written here." });
  const f = form({
    label: "Single sign-on",
    className: "drona-form--narrow",
    submitLabel: "Continue",
    children: [who.wrap],
    onSubmit: async ({ status }) => {
      const value = who.input.value.trim();
      const query = new URLSearchParams(value.includes("@") ? { email: value } : { org: value });
      const next = nextUrl();
      if (next) {
        const target = new URL(next);
        query.set("next", target.pathname + target.search + target.hash);
      }
      status.textContent = "Taking you to your organisation's sign-in…";
      location.assign(`${urls.api}sso/start?${query}`);
    },
  });
  f.node.id = "drona-sso-form";
  f.node.hidden = true;
  open.addEventListener("click", () => {
    f.node.hidden = !f.node.hidden;
    open.setAttribute("aria-expanded", String(!f.node.hidden));
    if (!f.node.hidden) who.input.focus();
  });
  return el("div", { class: "drona-app__sso" }, el("p", { class: "drona-app__links" }, open), f.node);
}

export async function mountSignin(root) {
  loading(root);
  const user = await currentUser({ refresh: true });
  if (isServerUnavailable()) return needsServer(root);
  reloadOnEmailedLink();
  const link = emailedToken("link");
  if (link) return confirmLink(root, link);
  if (user) return signedInNotice(root, user);
  const params = new URLSearchParams(location.search);
  const email = field({ label: "Email", name: "email", type: "email", autocomplete: "username", required: true });
  const password = field({ label: "Password", name: "password", type: "password", autocomplete: "current-password",
    required: true });
  const f = form({
    label: "Sign in",
    className: "drona-form--narrow",
    submitLabel: "Sign in",
    children: [email.wrap, password.wrap],
    onSubmit: async ({ status }) => {
      status.textContent = "Signing in…";
      let me;
      try {
        me = await api.post("auth/login", { email: email.input.value.trim(), password: password.input.value });
      } catch (err) {
        // Throttled (someone else may be guessing): the emailed link still works, so offer it.
        if (err instanceof ApiError && err.status === 429) linkOffer.hidden = false;
        throw err;
      }
      setUser(me);
      status.textContent = "Signed in. Taking you on…";
      location.assign(afterSignIn(me));
    },
  });
  const linkButton = el("button", { type: "button", class: "drona-btn drona-btn--secondary" },
    "Email me a sign-in link");
  linkButton.addEventListener("click", () => linkRequest(root, email.input.value.trim()));
  const linkOffer = el("p", { class: "drona-notice", hidden: true },
    "You can still get in: we can email you a link that signs you in once. ", linkButton);
  const notes = [];
  if (params.get("signed_out")) notes.push(el("p", { class: "drona-notice drona-notice--success", role: "status" }, "You are signed out."));
  if (params.get("sso_error")) {
    notes.push(el("p", { class: "drona-notice drona-notice--error", role: "alert" },
      "Single sign-on did not sign you in: ", params.get("sso_error")));
  }
  if (params.get("reset")) notes.push(el("p", { class: "drona-notice drona-notice--success", role: "status" },
    "Your password is changed. Sign in with the new one."));
  // A button, not an <a href="#">: the theme's instant navigation would take a link click as a page load.
  const linkInstead = el("button", { type: "button", class: "drona-btn drona-btn--link" },
    "Email me a sign-in link");
  linkInstead.addEventListener("click", () => linkRequest(root, email.input.value.trim()));
  root.replaceChildren(...notes, linkOffer, f.node,
    el("p", { class: "drona-app__links" },
      el("a", { href: pages.reset() }, "Forgot your password?"), " · ", linkInstead, " · New here? ",
      el("a", { href: sibling(pages.signup()) }, "Create an account")), ssoEntry());
  root.dataset.state = "ready";
}

export async function mountSignup(root) {
  loading(root);
  const user = await currentUser({ refresh: true });
  if (isServerUnavailable()) return needsServer(root);
  if (user) return signedInNotice(root, user);
  const name = field({ label: "Your name", name: "display_name", autocomplete: "name", required: true, maxlength: 80,
    hint: "Shown on your dashboard and, only if you opt in, on leaderboards." });
  const email = field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true });
  const password = field({ label: "Password", name: "password", type: "password", autocomplete: "new-password",
    required: true, minlength: 8, hint: "At least 8 characters." });
  const show = el("input", { type: "checkbox", id: "drona-show-password" });
  show.addEventListener("change", () => { password.input.type = show.checked ? "text" : "password"; });
  const f = form({
    label: "Create your account",
    className: "drona-form--narrow",
    submitLabel: "Create account",
    children: [name.wrap, email.wrap, password.wrap,
      el("div", { class: "drona-check" }, show, el("label", { for: "drona-show-password" }, "Show password"))],
    onSubmit: async ({ status }) => {
      status.textContent = "Creating your account…";
      const me = await api.post("auth/signup", {
        display_name: name.input.value.trim(),
        email: email.input.value.trim(),
        password: password.input.value,
      });
      setUser(me);
      // An address that already had an account and its right password signs in instead (README).
      status.textContent = me.onboarded ? "Signed in. Taking you on…" : "Account created. Let's set up your path…";
      location.assign(afterSignIn(me));
    },
  });
  root.replaceChildren(f.node,
    el("p", { class: "drona-app__links" }, "Already have an account? ",
      el("a", { href: sibling(pages.signin()) }, "Sign in")));
  root.dataset.state = "ready";
}

export async function mountReset(root) {
  reloadOnEmailedLink();
  const token = emailedToken("token");
  if (token) return confirmReset(root, token);
  const email = field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true,
    hint: "We send you a link to choose a new password. Use it soon: it expires." });
  const f = form({
    label: "Reset your password",
    className: "drona-form--narrow",
    submitLabel: "Send the link",
    children: [email.wrap],
    onSubmit: async () => {
      await api.post("auth/password-reset", { email: email.input.value.trim() });
      const heading = el("h2", {}, "Check your email");
      root.replaceChildren(el("div", { class: "drona-notice drona-notice--success", role: "status" },
        heading,
        el("p", {}, "If an account exists for ", el("strong", {}, email.input.value.trim()),
          ", a link to choose a new password is on its way."),
        el("p", { class: "drona-field__hint" },
          "Running Dronacharya yourself without email set up? The email is a file in ",
          el("code", {}, "data/outbox/"), ".")),
        el("p", { class: "drona-app__links" }, el("a", { href: pages.signin() }, "Back to sign in")));
      focusHeading(heading);
    },
  });
  root.replaceChildren(f.node, el("p", { class: "drona-app__links" }, el("a", { href: pages.signin() }, "Back to sign in")));
  root.dataset.state = "ready";
}

function confirmReset(root, token) {
  const password = field({ label: "New password", name: "new_password", type: "password", autocomplete: "new-password",
    required: true, minlength: 8, hint: "At least 8 characters." });
  const again = field({ label: "New password, again", name: "again", type: "password", autocomplete: "new-password",
    required: true, minlength: 8 });
  const f = form({
    label: "Choose a new password",
    className: "drona-form--narrow",
    submitLabel: "Set new password",
    children: [password.wrap, again.wrap],
    onSubmit: async () => {
      if (password.input.value !== again.input.value) {
        again.error.textContent = "The two passwords are not the same.";
        again.error.hidden = false;
        again.input.setAttribute("aria-invalid", "true");
        again.input.setAttribute("aria-describedby", again.error.id);
        again.input.focus();
        return;
      }
      await api.post("auth/password-reset/confirm", { token, new_password: password.input.value });
      setUser(null); // the reset signs out every session
      location.assign(pages.signin() + "?reset=1");
    },
  });
  root.replaceChildren(el("p", {}, "Choose a new password for your account. Every browser signed in to it is signed out."),
    f.node,
    el("p", { class: "drona-app__links" }, "Link expired? ", el("a", { href: pages.reset() }, "Ask for a new one")));
  root.dataset.state = "ready";
}
