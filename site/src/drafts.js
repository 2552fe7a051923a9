// Drafts: the learner's code per exercise, kept in localStorage (the offline copy, and the only
// copy when signed out) and, signed in, on the server (GET/PUT /api/exercises/{id}/draft), so it
// follows the learner to any browser.
//
// Every local copy remembers the server revision it was based on and whether it has edits the
// server has not seen yet ("dirty"). Those are sent with that base revision; when the server's
// draft moved on meanwhile (another browser, an edit made offline) the server decides: the later
// edit becomes the draft and the other is kept as a version the exercise offers to restore.
// Nothing is merged here, so both sides survive whatever order the browsers come back in.
import { api, ApiError, ServerUnavailable } from "./api.js";
import { urls } from "./config.js";
import { storage } from "./ui.js";
import { currentUser, onSession } from "./session.js";

const PREFIX = "drona:draft:";
const LEGACY_PREFIX = "drona:code:"; // plain code, from before drafts were kept on the server
const SAVE_DELAY_MS = 1500; // after typing stops
const RETRY_DELAY_MS = 15_000; // a failed save (server down) is tried again after this, or when back online
const KEEPALIVE_BYTES = 60_000; // browsers refuse keepalive bodies over 64 KiB

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** The local copy: {code, editedAt (ms), base (server revision or null), dirty, user (id or null)}. */
function readLocal(id) {
  try {
    const saved = JSON.parse(storage.get(PREFIX + id) || "null");
    if (saved && typeof saved === "object" && typeof saved.code === "string") return saved;
  } catch (_err) {
    /* unreadable: treated as absent */
  }
  const legacy = storage.get(LEGACY_PREFIX + id);
  if (legacy !== null) {
    // Its edit time is unknown: 0 makes any server draft the newer side, and this one is kept.
    return { code: legacy, editedAt: 0, base: null, dirty: true, user: null };
  }
  return null;
}

function writeLocal(id, record) {
  storage.set(PREFIX + id, JSON.stringify(record));
  storage.remove(LEGACY_PREFIX + id);
}

export class DraftSync extends EventTarget {
  /**
   * exerciseId: the exercise; starter: its starter code.
   * Events: "remote" (detail {code, reason}): the editor should show this code;
   * "others" (detail: kept versions, newest first); "saved" (detail {revision}).
   */
  constructor(exerciseId, starter) {
    super();
    this.id = exerciseId;
    this.starter = starter;
    this.local = exerciseId ? readLocal(exerciseId) : null;
    this.user = null; // the signed-in learner's id, once known
    this.timer = null;
    this.saving = null; // the save in flight (a promise)
    this.syncing = null; // the sync in flight (a promise)
    this.syncedFor = undefined; // the learner the last sync was for
    this.others = [];
    this.disposed = false;
    this.onOnline = () => this.flush();
    this.onHide = () => {
      if (document.visibilityState === "hidden") this.flushOnExit();
    };
    this.onPageHide = () => this.flushOnExit();
    window.addEventListener("online", this.onOnline);
    document.addEventListener("visibilitychange", this.onHide);
    window.addEventListener("pagehide", this.onPageHide);
    this.offSession = onSession("user", (user) => this.signedIn(user));
  }

  /** The code to show at once, before the server answers: the local copy, else the starter. */
  get initialCode() {
    return this.local ? this.local.code : this.starter;
  }

  /** True when the local copy holds code that differs from the starter. */
  get restoredLocally() {
    return !!this.local && this.local.code !== this.starter;
  }

  emit(type, detail) {
    if (!this.disposed) this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  mine(record) {
    return !!record && (record.user === null || record.user === undefined || record.user === this.user);
  }

  /** Signed in: bring this browser and the server together (run once the widget is mounted). */
  sync() {
    if (!this.syncing) {
      this.syncing = this.syncOnce().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  async syncOnce() {
    if (!this.id) return;
    const user = await currentUser();
    this.syncedFor = user ? user.id : null;
    if (this.disposed || !user || user.stale) {
      // Signed out, or the server is unreachable (user.stale): the local copy is all there is.
      if (user && user.stale) this.user = user.id;
      return;
    }
    this.user = user.id;
    let state;
    try {
      state = await api.get(`exercises/${encodeURIComponent(this.id)}/draft`);
    } catch (_err) {
      return; // offline or a server problem: the local copy stands; edits are sent later
    }
    if (this.disposed) return;
    const local = this.local;
    if (local && local.dirty && this.mine(local)) {
      // Edits this browser made (offline, or signed out) that the server has not seen: send them
      // on their base revision; the server keeps the other side if the draft moved on.
      this.showOthers(state.others);
      await this.flush();
      return;
    }
    if (state.draft) {
      this.local = { code: state.draft.code, editedAt: Date.parse(state.draft.edited_at) || Date.now(),
        base: state.draft.revision, dirty: false, user: this.user };
      writeLocal(this.id, this.local);
      if (!local || local.code !== state.draft.code) this.emit("remote", { code: state.draft.code, reason: "draft" });
    } else if (local && local.code !== this.starter && this.mine(local)) {
      // Synced before, but the server has no draft (a new database): store this browser's.
      this.local = { ...local, base: null, dirty: true, user: this.user };
      await this.flush();
    } else if (state.last_submission && state.last_submission.code !== (local ? local.code : this.starter)) {
      // No draft anywhere: start from the code last graded on the server.
      const code = state.last_submission.code;
      this.local = { code, editedAt: Date.parse(state.last_submission.created_at) || Date.now(), base: null,
        dirty: false, user: this.user };
      writeLocal(this.id, this.local);
      this.emit("remote", { code, reason: "submission" });
    }
    this.showOthers(state.others);
  }

  signedIn(user) {
    if (this.disposed) return;
    if (!user) {
      this.user = null; // signed out: edits stay in this browser only
      return;
    }
    // Signed in on this page (or the session learned who it is): restore that learner's draft.
    if (this.syncedFor !== undefined && user.id !== this.syncedFor && !this.syncing) this.sync();
  }

  /** The learner changed the code: keep it locally now, send it to the server a moment later. */
  edit(code) {
    if (!this.id) return;
    const base = this.local && this.mine(this.local) ? this.local.base : null;
    this.local = { code, editedAt: Date.now(), base, dirty: true, user: this.user };
    writeLocal(this.id, this.local);
    clearTimeout(this.timer);
    if (this.user) this.timer = setTimeout(() => this.flush(), SAVE_DELAY_MS);
  }

  /** Send unsaved edits now (one request at a time; edits made meanwhile follow). */
  async flush() {
    clearTimeout(this.timer);
    if (this.saving) {
      await this.saving;
      if (this.local && this.local.dirty && !this.disposed) return this.flush();
      return undefined;
    }
    const record = this.local;
    if (!this.id || !this.user || !record || !record.dirty || !this.mine(record)) return undefined;
    this.saving = this.send(record).finally(() => {
      this.saving = null;
    });
    return this.saving;
  }

  async send(record) {
    let result;
    try {
      result = await api.put(`exercises/${encodeURIComponent(this.id)}/draft`, {
        code: record.code,
        base_revision: record.base,
        edited_at: new Date(record.editedAt || 0).toISOString(),
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.user = null; // signed out elsewhere: the local copy waits for the next sign-in
      } else if (err instanceof ServerUnavailable || (err instanceof ApiError && err.status >= 500)) {
        this.timer = setTimeout(() => this.flush(), RETRY_DELAY_MS);
      } else if (err instanceof ApiError) {
        console.warn(`drona: the draft of exercise ${this.id} was not saved: ${err.message}`);
      }
      return;
    }
    if (this.disposed) return;
    const draft = result.draft;
    const typedSince = this.local !== record; // the learner typed while this request was out
    if (typedSince) {
      // Newer edits build on what the server now holds.
      this.local = { ...this.local, base: draft.revision };
    } else {
      this.local = { code: draft.code, editedAt: Date.parse(draft.edited_at) || record.editedAt,
        base: draft.revision, dirty: false, user: this.user };
      if (!result.accepted) this.emit("remote", { code: draft.code, reason: "newer" });
    }
    writeLocal(this.id, this.local);
    this.showOthers(result.others);
    this.emit("saved", { revision: draft.revision });
    if (typedSince) this.flush();
  }

  /** The page is going away: send unsaved edits with keepalive, which outlives the page. */
  flushOnExit() {
    const record = this.local;
    if (!this.id || !this.user || !record || !record.dirty || !this.mine(record) || this.saving) return;
    const body = JSON.stringify({ code: record.code, base_revision: record.base,
      edited_at: new Date(record.editedAt || 0).toISOString() });
    const token = readCookie("drona_csrf");
    // Too large for keepalive, or no CSRF token yet: the local copy is sent on the next visit.
    if (!token || new TextEncoder().encode(body).length > KEEPALIVE_BYTES) return;
    clearTimeout(this.timer);
    try {
      fetch(`${urls.api}exercises/${encodeURIComponent(this.id)}/draft`, {
        method: "PUT",
        keepalive: true,
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": token },
        body,
      }).catch(() => {});
    } catch (_err) {
      /* the local copy stays dirty and is sent on the next visit */
    }
  }

  showOthers(others) {
    this.others = Array.isArray(others) ? others : [];
    this.emit("others", this.others);
  }

  /** Make a kept version the draft; the current one is kept in its place. */
  async restore(versionId) {
    await this.flush();
    const state = await api.post(
      `exercises/${encodeURIComponent(this.id)}/draft/versions/${encodeURIComponent(versionId)}/restore`);
    if (this.disposed) return;
    if (state.draft) {
      this.local = { code: state.draft.code, editedAt: Date.parse(state.draft.edited_at) || Date.now(),
        base: state.draft.revision, dirty: false, user: this.user };
      writeLocal(this.id, this.local);
      this.emit("remote", { code: state.draft.code, reason: "restored" });
    }
    this.showOthers(state.others);
  }

  /** Forget a kept version. */
  async discard(versionId) {
    await api.delete(`exercises/${encodeURIComponent(this.id)}/draft/versions/${encodeURIComponent(versionId)}`);
    this.showOthers(this.others.filter((o) => o.id !== versionId));
  }

  dispose() {
    // Instant navigation away: the edits still go out (the document lives on).
    this.flushOnExit();
    this.disposed = true;
    clearTimeout(this.timer);
    window.removeEventListener("online", this.onOnline);
    document.removeEventListener("visibilitychange", this.onHide);
    window.removeEventListener("pagehide", this.onPageHide);
    this.offSession();
  }
}
