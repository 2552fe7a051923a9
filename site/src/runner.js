// One Python worker per document, shared by every widget and kept across Material's instant
// navigation (this bundle is not reloaded by it). Created eagerly so Pyodide boots while the
// learner reads; replaced by a fresh worker whenever a program has to be killed.
import { urls } from "./config.js";

const STDIN_BYTES = 64 * 1024;
const GRACE_MS = 1000; // after an interrupt, how long the worker has to answer before terminate()

export class Runner {
  constructor() {
    this.isolated = !!(self.crossOriginIsolated && typeof SharedArrayBuffer === "function");
    this.worker = null;
    // ready: a program sent now starts at once (the worker reports ready only after Pyodide, the
    // harness and a warm-up run are done: see worker.js).
    this.state = "idle"; // idle | loading | ready | error
    this.progress = 0; // while loading: the share of the boot done, 0..1
    this.statusText = "";
    this.error = null;
    this.version = null;
    this.queue = [];
    this.current = null;
    this.listeners = new Set();
    this.nextId = 1;
    this.restarts = 0;
    this._readyWaiters = [];
  }

  /** Subscribe to state changes; returns an unsubscribe function. */
  onState(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  _setState(state, error = null) {
    this.state = state;
    this.error = error;
    if (state === "loading") {
      this.progress = 0;
      this.statusText = "";
    } else if (state === "ready") {
      this.progress = 1;
    }
    if (state === "ready") {
      this._readyWaiters.splice(0).forEach((w) => w.resolve());
    } else if (state === "error") {
      this._readyWaiters.splice(0).forEach((w) => w.reject(new Error(error)));
    }
    this._notify();
  }

  _notify() {
    this.listeners.forEach((l) => {
      try {
        l(this.state, this.error);
      } catch (err) {
        console.error(err);
      }
    });
  }

  /** Resolves once Python is loaded (again, after a restart). */
  get ready() {
    if (this.state === "ready") return Promise.resolve();
    if (this.state === "error") return Promise.reject(new Error(this.error));
    return new Promise((resolve, reject) => this._readyWaiters.push({ resolve, reject }));
  }

  get busy() {
    return !!this.current;
  }

  start() {
    if (this.worker) return;
    this._setState("loading");
    this.startedAt = performance.now();
    const shared = {};
    if (this.isolated) {
      this.interruptSAB = new SharedArrayBuffer(4);
      this.interrupt = new Uint8Array(this.interruptSAB);
      this.stdinSAB = new SharedArrayBuffer(8 + STDIN_BYTES);
      this.stdinCtrl = new Int32Array(this.stdinSAB, 0, 2);
      this.stdinData = new Uint8Array(this.stdinSAB, 8);
      shared.interruptSAB = this.interruptSAB;
      shared.stdinSAB = this.stdinSAB;
    }

    // The page template may have started the worker already, in <head> (see main.html).
    const early = window.__dronaBoot;
    window.__dronaBoot = null;
    let worker = null;
    let backlog = [];
    if (early && early.worker) {
      if (early.error) {
        early.worker.terminate();
      } else {
        worker = early.worker;
        backlog = early.messages;
        this.startedAt = early.startedAt;
      }
    }
    const adopted = !!worker;
    if (!worker) {
      try {
        worker = new Worker(urls.assets + "worker.js", { type: "module", name: "drona-python" });
      } catch (err) {
        this._setState("error", String((err && err.message) || err));
        return;
      }
    }
    this.worker = worker;
    worker.onmessage = (event) => this._onMessage(worker, event.data || {});
    worker.onerror = (event) => {
      event.preventDefault();
      if (worker !== this.worker) return;
      const message = event.message || "the Python worker failed";
      if (this.state === "loading") {
        this._teardown();
        this._setState("error", message);
      } else {
        this._crash(message);
      }
    };
    if (adopted) {
      if (this.isolated) worker.postMessage({ type: "attach", ...shared });
      backlog.forEach((msg) => this._onMessage(worker, msg));
    } else {
      worker.postMessage({
        type: "init",
        pyodideURL: urls.pyodide,
        harnessURL: urls.assets + "harness.py",
        snapshotURL: urls.snapshot,
        ...shared,
      });
    }
  }

  /** Retry after a failed boot. */
  restart() {
    this._teardown();
    this.start();
  }

  _teardown() {
    if (this.worker) {
      this.worker.onmessage = null;
      this.worker.onerror = null;
      this.worker.terminate();
    }
    this.worker = null;
  }

  _onMessage(worker, msg) {
    if (worker !== this.worker) return; // a terminated worker's last words
    const job = this.current && msg.id === this.current.id ? this.current : null;
    switch (msg.type) {
      case "ready":
        this.version = msg.version;
        this.timings = { ...msg.timings, total: performance.now() - this.startedAt };
        this._setState("ready");
        this._pump();
        return;
      case "boot-error":
        this._teardown();
        this._setState("error", msg.message);
        return;
      case "status":
        // Boot progress: the widgets show it until "ready" (the state stays "loading").
        if (this.state !== "loading") return;
        this.statusText = msg.text || "";
        if (typeof msg.progress === "number") this.progress = Math.max(this.progress, Math.min(1, msg.progress));
        this._notify();
        return;
      case "stdout":
      case "stderr":
      case "stdin":
        if (job && job.handlers.onOutput) job.handlers.onOutput(msg.type, msg.text);
        return;
      case "input":
        if (!job) return;
        job.pauseClock();
        job.waitingInput = true;
        if (job.stopReason) {
          this._cancelInput();
          return;
        }
        if (job.handlers.onInput) job.handlers.onInput();
        return;
      case "test-start":
        if (job) {
          job.testIndex = msg.index;
          job.restartClock();
          if (job.handlers.onTestStart) job.handlers.onTestStart(msg.index);
        }
        return;
      case "test-result":
        if (job && job.handlers.onTestResult) job.handlers.onTestResult(msg.index, msg.result);
        return;
      case "done":
        if (job) this._finish(job, msg.traceback ? { status: "error", traceback: msg.traceback } : { status: "ok" });
        return;
      case "checked":
        if (job) this._finish(job, { status: "ok", passed: msg.passed, results: msg.results });
        return;
      case "traced":
        if (!job) return;
        if (msg.error) {
          this._finish(job, { status: "crashed", message: msg.error });
          return;
        }
        try {
          this._finish(job, { status: "ok", trace: JSON.parse(msg.trace) });
        } catch (err) {
          this._finish(job, { status: "crashed", message: `an unreadable trace (${err.message})` });
        }
        return;
      case "sim-event":
        // The Simulation canvas: one recorded request, drawn as it happens.
        if (job && job.handlers.onEvent) {
          try {
            job.handlers.onEvent(JSON.parse(msg.event));
          } catch (err) {
            console.warn("drona: an unreadable simulation event", err);
          }
        }
        return;
      case "simulated":
        if (!job) return;
        try {
          const simulation = JSON.parse(msg.result);
          if (simulation.error) this._finish(job, { status: "error", traceback: simulation.error });
          else this._finish(job, { status: "ok", simulation });
        } catch (err) {
          this._finish(job, { status: "crashed", message: `an unreadable simulation (${err.message})` });
        }
        return;
      case "interrupted":
        if (job) this._finish(job, { status: "stopped" });
        return;
      case "crashed":
        this._crash(msg.message);
        return;
      default:
    }
  }

  _finish(job, result) {
    if (job.finished) return;
    job.finished = true;
    job.pauseClock();
    clearTimeout(job.graceTimer);
    if (this.current === job) this.current = null;
    if (job.stopReason === "timeout") {
      result = { status: "timeout", seconds: job.timeLimit, testIndex: job.testIndex };
    } else if (job.stopReason) {
      result = { status: "stopped" };
    }
    job.resolve(result);
    this._pump();
  }

  _crash(message) {
    const job = this.current;
    this._teardown();
    this.restarts += 1;
    if (job) this._finish(job, { status: "crashed", message });
    this.start();
  }

  _pump() {
    if (this.current || this.state !== "ready" || !this.worker) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    if (this.interrupt) this.interrupt[0] = 0;
    if (job.handlers.onStart) job.handlers.onStart();
    job.restartClock();
    this.worker.postMessage(job.message);
  }

  _submit(kind, message, options) {
    const id = this.nextId++;
    const runner = this;
    const job = {
      id,
      kind,
      message: { ...message, id, type: kind },
      handlers: options,
      timeLimit: options.timeLimit || 5,
      testIndex: null,
      finished: false,
      waitingInput: false,
      stopReason: null,
      clock: null,
      remaining: 0,
      startedAt: 0,
      restartClock() {
        this.remaining = this.timeLimit * 1000;
        this.resumeClock();
      },
      resumeClock() {
        clearTimeout(this.clock);
        this.startedAt = performance.now();
        this.clock = setTimeout(() => runner._stopJob(this, "timeout"), Math.max(0, this.remaining));
      },
      pauseClock() {
        if (this.clock) {
          clearTimeout(this.clock);
          this.clock = null;
          this.remaining -= performance.now() - this.startedAt;
        }
      },
    };
    job.result = new Promise((resolve) => {
      job.resolve = resolve;
    });
    this.queue.push(job);
    if (!this.worker && this.state !== "error") this.start();
    this._pump();
    return {
      id,
      result: job.result,
      stop: () => this._stopJob(job, "user"),
      answer: (line) => this._answer(job, line),
      get waiting() {
        return runner.current !== job;
      },
    };
  }

  /** Run a program; output streams to options.onOutput(kind, text). */
  run(code, options = {}) {
    return this._submit("run", { code, stdin: options.stdin || "" }, options);
  }

  /** Run the visible tests; results stream to options.onTestResult(index, result). */
  check(code, tests, seed, options = {}) {
    return this._submit("check", { code, tests, seed: seed || 0 }, options);
  }

  /** Run under the step tracer (the Visualization canvas); the result carries {trace}. */
  trace(code, options = {}) {
    const message = { code, stdin: options.stdin || "", maxSteps: options.maxSteps || 1000, tracerURL: urls.assets + "tracer.py" };
    return this._submit("trace", message, options);
  }

  /**
   * Run the program beside a scenario (the Simulation canvas): `scenario` is the exercise's
   * {source, call, args, seed}; events stream to options.onEvent(entry); the result carries
   * {simulation: {answer, transcript, clock}}.
   */
  simulate(code, scenario, options = {}) {
    const message = { code, source: scenario.source, call: scenario.call, args: scenario.args || [], seed: scenario.seed || 1 };
    return this._submit("simulate", message, options);
  }

  _answer(job, line) {
    if (this.current !== job || !job.waitingInput || !this.stdinCtrl) return;
    let bytes = new TextEncoder().encode(String(line));
    if (bytes.length > STDIN_BYTES) bytes = bytes.slice(0, STDIN_BYTES);
    this.stdinData.set(bytes);
    Atomics.store(this.stdinCtrl, 1, bytes.length);
    Atomics.store(this.stdinCtrl, 0, 1);
    job.waitingInput = false;
    job.resumeClock();
    Atomics.notify(this.stdinCtrl, 0);
  }

  _cancelInput() {
    if (!this.stdinCtrl) return;
    Atomics.store(this.stdinCtrl, 0, 2);
    Atomics.notify(this.stdinCtrl, 0);
  }

  /** Stop a job: queued → dropped; running → KeyboardInterrupt, then terminate() if needed. */
  _stopJob(job, reason) {
    if (job.finished) return;
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      job.stopReason = reason;
      this._finish(job, { status: "stopped" });
      return;
    }
    if (this.current !== job || job.stopReason) return;
    job.stopReason = reason;
    job.pauseClock();
    if (this.isolated && this.interrupt) {
      this.interrupt[0] = 2; // SIGINT → KeyboardInterrupt at the next bytecode check
      if (job.waitingInput) {
        job.waitingInput = false;
        this._cancelInput();
      }
      job.graceTimer = setTimeout(() => this._kill(job), GRACE_MS);
    } else {
      this._kill(job);
    }
  }

  _kill(job) {
    if (job.finished || this.current !== job) return;
    this._teardown();
    this.restarts += 1;
    this._finish(job, {});
    this.start();
  }
}

export const runner = new Runner();
