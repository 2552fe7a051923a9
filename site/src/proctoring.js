// Camera checks for a Silver attempt (ENABLE_AI_PROCTORING, §9.2), only when the learner consented on
// starting it (the server then sets attempt.proctoring). Everything runs in this browser: a hidden
// <video> shows the camera to face-api's tiny face detector every CHECK_EVERY_MS, and only the outcome
// leaves, as an integrity event (camera_face_missing, camera_multiple_faces, camera_unavailable).
// No frame is drawn anywhere we keep, stored or sent.
//
// The detector (face-api with tfjs, about 1.3 MB) is served by the site itself under
// assets/drona/proctoring/ (sidecar/compiler/assets.py) and imported only here, on demand, so the
// main bundle and every attempt without camera checks never load it.
import { el } from "./ui.js";
import { urls } from "./config.js";

export const CHECK_EVERY_MS = 5000;
// Per page. A flickering detector must not use up the server's cap on an attempt's events (2000),
// which would silence the focus and paste signals.
const MAX_EVENTS = 200;
// 224 px is the detector's middle input size: faces at a desk are large, and a smaller input keeps
// a check well under a second on the CPU backend.
const DETECTOR = { inputSize: 224, scoreThreshold: 0.5 };
// Off-screen rather than display:none, so the browser keeps decoding frames for the detector.
const HIDDEN = "position:fixed;left:-10000px;top:0;width:320px;height:240px;opacity:0;pointer-events:none";

const WHAT = "Camera check on: every 5 seconds this browser looks for one face in the camera picture. " +
  "No picture leaves your browser; only \u201cno face in view\u201d or \u201cmore than one face\u201d is " +
  "recorded, for the reviewer.";
const NOW = { ok: " Now: one face in view.", missing: " Now: no face in view.",
  multiple: " Now: more than one face in view." };

let detector = null; // one load per page, shared by later attempts

function loadDetector() {
  if (!detector) {
    detector = (async () => {
      const faceapi = await import(new URL("proctoring/face-api.esm.js", urls.assets).href);
      // WebGL when the browser has it, else the CPU backend: never the wasm backend, whose binary
      // is not served (tfjs would try to fetch it).
      const webgl = await faceapi.tf.setBackend("webgl").catch(() => false);
      if (!webgl) await faceapi.tf.setBackend("cpu");
      await faceapi.tf.ready();
      await faceapi.nets.tinyFaceDetector.loadFromUri(new URL("proctoring/", urls.assets).href);
      return faceapi;
    })();
    detector.catch(() => {
      detector = null; // a later attempt may try again
    });
  }
  return detector;
}

function reasonOf(err) {
  return err && err.name ? String(err.name).slice(0, 40) : "error";
}

class CameraCheck {
  constructor(send) {
    this.send = send;
    this.sent = 0;
    this.stream = null;
    this.video = null;
    this.faceapi = null;
    this.options = null;
    this.timer = null;
    this.busy = false;
    this.stopped = false;
    this.state = "starting";
    this.counts = { missing: 0, multiple: 0 };
    this.indicator = el("p", { class: "drona-notice drona-proctoring", role: "status", "aria-live": "polite" });
    this.render("Camera check starting\u2026");
  }

  render(text) {
    this.indicator.dataset.dronaProctoring = this.state;
    this.indicator.textContent = text;
  }

  setState(state) {
    this.state = state;
    this.render(WHAT + (NOW[state] || ""));
  }

  emit(kind, detail) {
    if (this.sent >= MAX_EVENTS) return;
    this.sent += 1;
    this.send(kind, detail);
  }

  async run() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return this.unavailable("unsupported");
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "user" }, audio: false });
    } catch (err) {
      return this.unavailable(reasonOf(err));
    }
    if (this.stopped) return stream.getTracks().forEach((track) => track.stop());
    this.stream = stream;
    for (const track of stream.getVideoTracks()) track.addEventListener("ended", () => this.unavailable("ended"));
    this.video = el("video", { muted: true, playsinline: true, "aria-hidden": "true", style: HIDDEN,
      "data-drona-proctoring-video": "" });
    this.video.muted = true;
    this.video.srcObject = stream;
    document.body.append(this.video);
    try {
      await this.video.play();
      this.faceapi = await loadDetector();
    } catch (_err) {
      return this.unavailable("detector");
    }
    if (this.stopped) return null;
    this.options = new this.faceapi.TinyFaceDetectorOptions(DETECTOR);
    this.emit("camera_consent", { checks: "started" });
    await this.check();
    if (!this.stopped) this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    return null;
  }

  async check() {
    // A slow check (CPU backend) is not overlapped by the next one.
    if (this.busy || this.stopped || !this.video || this.video.readyState < 2) return;
    this.busy = true;
    try {
      const faces = await this.faceapi.detectAllFaces(this.video, this.options);
      if (!this.stopped) this.observe(faces.length);
    } catch (_err) {
      if (!this.stopped) this.unavailable("detector");
    } finally {
      this.busy = false;
    }
  }

  observe(faces) {
    const state = faces === 0 ? "missing" : faces > 1 ? "multiple" : "ok";
    // Debounced: one event when the state begins, not one per check while it lasts; the count says
    // how many times it has begun on this page.
    if (state === this.state) return;
    this.setState(state);
    if (state === "missing") {
      this.counts.missing += 1;
      this.emit("camera_face_missing", { count: this.counts.missing });
    } else if (state === "multiple") {
      this.counts.multiple += 1;
      this.emit("camera_multiple_faces", { count: this.counts.multiple, faces });
    }
  }

  unavailable(reason) {
    if (this.stopped || this.state === "unavailable") return null;
    this.release();
    this.state = "unavailable";
    this.render("Camera check: the camera is not available, and this is recorded for the reviewer. " +
      "You can go on with the assessment.");
    this.emit("camera_unavailable", { reason });
    return null;
  }

  release() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.stream) this.stream.getTracks().forEach((track) => track.stop());
    this.stream = null;
    if (this.video) {
      this.video.srcObject = null;
      this.video.remove();
    }
    this.video = null;
  }

  /** Ends the checks and turns the camera off (the attempt ended, or the page is left). */
  stop() {
    if (this.stopped) return;
    this.release();
    this.stopped = true;
    this.state = "stopped";
    this.render("Camera check ended: the camera is off.");
  }
}

/**
 * Starts the camera checks when the attempt has them on; returns {indicator, stop()} or null.
 * send(kind, detail) records an integrity event for the attempt.
 */
export function start(attempt, send) {
  if (!attempt || !attempt.proctoring) return null;
  const check = new CameraCheck(send);
  check.run().catch(() => check.unavailable("error"));
  return check;
}
