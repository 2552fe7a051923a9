// Invitations to join an organisation (GET /api/me/invitations): accept or decline each.
//
// The invitation email links here with #invitation=ID&token=TOKEN. The token shows that whoever answers
// reads the invited address's mail (sign-up does not verify addresses), so it is needed until the
// address is verified. It is kept in sessionStorage (this tab only) so it survives signing in or
// signing up first, and removed from the address bar at once (fragments never reach the server).
import { el } from "../ui.js";
import { api, ApiError, ServerUnavailable } from "../api.js";
import { formatDate, pages } from "../format.js";
import { currentUser, isServerUnavailable } from "../session.js";
import { focusHeading, loading, needsServer } from "./forms.js";
import { reloadOnEmailedLink } from "./auth.js";

const KEY = "drona:invitation";
const ROLES = { learner: "learner", team_manager: "team manager", analytics_viewer: "analytics viewer",
  content_creator: "content creator", enterprise_admin: "administrator" };

function session() {
  try {
    return window.sessionStorage;
  } catch (_err) {
    return null;
  }
}

/** {id, token} from the link just opened (then stashed), or from the stash, or null. */
function linkedInvitation() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const store = session();
  if (params.get("invitation") && params.get("token")) {
    const found = { id: params.get("invitation"), token: params.get("token") };
    history.replaceState(history.state, "", location.pathname + location.search);
    if (store) store.setItem(KEY, JSON.stringify(found));
    return found;
  }
  try {
    const saved = JSON.parse((store && store.getItem(KEY)) || "null");
    return saved && saved.id && saved.token ? saved : null;
  } catch (_err) {
    return null;
  }
}

function forget() {
  const store = session();
  if (store) store.removeItem(KEY);
}

function signedOut(root, linked) {
  const here = new URL(pages.invitations()).pathname;
  root.replaceChildren(el("div", { class: "drona-notice", role: "status" },
    el("p", {}, linked ? "Sign in with the address the invitation was sent to, or create an account with it, to answer it."
      : "Sign in to see your invitations."),
    el("p", { class: "drona-notice__actions" },
      el("a", { class: "drona-btn drona-btn--primary", href: `${pages.signin()}?next=${encodeURIComponent(here)}` },
        "Sign in"),
      el("a", { class: "drona-btn drona-btn--secondary", href: `${pages.signup()}?next=${encodeURIComponent(here)}` },
        "Create an account"))));
  root.dataset.state = "signed-out";
}

function describe(invitation) {
  const role = ROLES[invitation.role] || invitation.role;
  return [el("strong", {}, invitation.organization_name), ` invites you to join as ${role}. `,
    el("span", { class: "drona-field__hint" }, `Open until ${formatDate(invitation.expires_at)}.`)];
}

function render(root, user, data, linked) {
  const heading = el("h2", {}, "Your invitations");
  const status = el("p", { class: "drona-form__status", role: "status", "aria-live": "polite" });
  const list = el("ul", { class: "drona-invitations" });
  const notes = [];
  const invitations = Array.isArray(data.invitations) ? data.invitations : [];
  if (linked && !invitations.some((i) => i.id === linked.id)) {
    notes.push(el("p", { class: "drona-notice drona-notice--warning", role: "status" },
      `The invitation in your link is not open for ${user.email}: it may have expired, been withdrawn or answered, `,
      "or have been sent to another address (sign in with that one)."));
    forget();
  }
  for (const invitation of invitations) {
    const token = linked && linked.id === invitation.id ? linked.token : null;
    const item = el("li", { class: "drona-invitation", "data-invitation-id": invitation.id }, el("p", {}, ...describe(invitation)));
    if (!token && !data.email_verified) {
      item.append(el("p", { class: "drona-field__hint" },
        "To answer, open the link in the invitation email: it shows that this address is yours."));
    } else {
      const accept = el("button", { type: "button", class: "drona-btn drona-btn--primary" }, "Accept");
      const decline = el("button", { type: "button", class: "drona-btn drona-btn--secondary" }, "Decline");
      const answer = async (verb) => {
        accept.disabled = decline.disabled = true;
        try {
          await api.post(`me/invitations/${encodeURIComponent(invitation.id)}/${verb}`, token ? { token } : {});
          if (token) forget();
          item.remove();
          status.textContent = verb === "accept" ? `You joined ${invitation.organization_name}.`
            : `You declined the invitation from ${invitation.organization_name}.`;
          if (verb === "accept") await currentUser({ refresh: true });
          if (!list.children.length) list.replaceWith(el("p", {}, "No other invitations are waiting."));
          focusHeading(heading);
        } catch (err) {
          accept.disabled = decline.disabled = false;
          status.textContent = err instanceof ServerUnavailable
            ? "The Dronacharya server did not answer. Check your connection and try again." : err.message;
        }
      };
      accept.addEventListener("click", () => answer("accept"));
      decline.addEventListener("click", () => answer("decline"));
      item.append(el("p", { class: "drona-notice__actions" }, accept, decline));
    }
    list.append(item);
  }
  root.replaceChildren(heading, ...notes,
    invitations.length ? list : el("p", {}, `No invitations are waiting for ${user.email}.`), status);
  root.dataset.state = "ready";
}

export async function mountInvitations(root) {
  loading(root, "Loading your invitations…");
  reloadOnEmailedLink();
  const linked = linkedInvitation();
  const user = await currentUser({ refresh: true });
  if (!root.isConnected) return null;
  if (!user) {
    if (isServerUnavailable()) needsServer(root);
    else signedOut(root, linked);
    return null;
  }
  try {
    render(root, user, await api.get("me/invitations"), linked);
  } catch (err) {
    if (err instanceof ServerUnavailable) return needsServer(root);
    root.replaceChildren(el("p", { class: "drona-notice drona-notice--error", role: "alert" },
      err instanceof ApiError ? err.message : "Something went wrong. Reload to try again."));
    root.dataset.state = "error";
  }
  return null;
}
