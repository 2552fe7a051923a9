// What the exercise and the playground share: an editor, Run / Stop, a status line, the output
// panel and (when the page is not cross-origin isolated) a stdin box for input().
import { runner } from "./runner.js";
import { createEditor } from "./editor.js";
import { el, button, setEnabled, uniqueId, OutputPanel, stopMessage } from "./ui.js";
import { Visualizer } from "./visualizer.js";
import { Simulator } from "./simulator.js";

export const WAITING = "Waiting for another program on this page to finish…";

export class ProgramWidget {
  constructor(root, config, { label, initialCode, onChange }) {
    this.root = root;
    this.config = config;
    this.timeLimit = Number(config.time_limit_seconds) || 5;
    this.job = null;
    this.busy = null; // "run" | "check" | null
    this.disposed = false;

    this.output = new OutputPanel();
    this.status = el("p", { class: "drona-status", role: "status", "aria-live": "polite" });
    this.editorHost = el("div", { class: "drona-editor" });
    this.editor = createEditor(this.editorHost, {
      doc: initialCode,
      label,
      onRun: () => this.run(),
      onChange,
    });

    this.runBtn = button("Run", {
      kind: "primary",
      iconName: "play",
      onClick: () => this.run(),
      title: "Run (Ctrl+Enter)",
      keyshortcuts: "Control+Enter Meta+Enter",
    });
    this.stopBtn = button("Stop", { kind: "danger", iconName: "stop", onClick: () => this.stop() });
    // Visualize: run the code under the step tracer and show the Visualization canvas below.
    this.vizBtn = button("Visualize", { kind: "secondary", iconName: "eye", onClick: () => this.visualize(),
      title: "Step through the program, line by line" });
    this.visualizer = new Visualizer();
    // Simulate (an exercise with a scenario): run the code beside the scenario model, drawn live.
    this.scenario = config.simulation || null;
    if (this.scenario) {
      this.simBtn = button("Simulate", { kind: "secondary", iconName: "play", onClick: () => this.simulate(),
        title: "Run your function against the simulated world and watch what happens" });
      this.simulator = new Simulator();
    }
    this.toolbar = el("div", { class: "drona-toolbar", role: "group", "aria-label": "Program controls" },
      this.runBtn, this.simBtn || null, this.vizBtn, this.stopBtn);

    if (!runner.isolated) {
      const id = uniqueId("drona-stdin");
      this.stdinBox = el("textarea", {
        id,
        class: "drona-stdin__field",
        rows: "2",
        spellcheck: "false",
        placeholder: "One line per input() call",
      });
      this.stdinPanel = el(
        "div",
        { class: "drona-stdin" },
        el("label", { for: id, text: "Program input, one line per input()" }),
        this.stdinBox,
      );
    }

    this.unsubscribe = runner.onState(() => this.refresh());
  }

  /** Called by subclasses once the DOM is in place. */
  refresh() {
    if (this.disposed) return;
    const state = runner.state;
    const ready = state === "ready";
    const idle = !this.busy;
    this.setButtons(ready, idle);
    setEnabled(this.stopBtn, !idle);
    if (!idle) {
      this.root.dataset.state = "running";
    } else if (ready) {
      this.root.dataset.state = "ready";
    } else if (state === "error") {
      this.root.dataset.state = "error";
    } else {
      this.root.dataset.state = "loading";
    }
    if (idle) this.showRunnerStatus();
  }

  setButtons(ready, idle) {
    setEnabled(this.runBtn, ready && idle);
    setEnabled(this.vizBtn, ready && idle);
    if (this.simBtn) setEnabled(this.simBtn, ready && idle);
  }

  showRunnerStatus() {
    const state = runner.state;
    if (state === "ready") {
      this.setStatus("Ready", "ready");
    } else if (state === "error") {
      this.setStatus(`Python could not load: ${runner.error}`, "error", true);
    } else {
      this.showLoading(runner.restarts > 0 ? "Restarting Python…" : "Loading Python…");
    }
  }

  /**
   * "Loading Python…" with how far the boot is, until the runner is ready. The live text stays the
   * same while only the bar and its percentage move, so screen readers hear it once; the bar has
   * its own name and value for those who look for it.
   */
  showLoading(text) {
    const share = Math.round((runner.progress || 0) * 100);
    const bar = this.status.querySelector("progress");
    if (this.status.dataset.tone === "loading" && bar && this.status.dataset.text === text) {
      bar.value = share;
      this.status.querySelector(".drona-status__percent").textContent = `${share} %`;
      return;
    }
    this.setStatus(text, "loading");
    this.status.dataset.text = text;
    this.status.append(
      el("progress", { class: "drona-status__bar", max: "100", value: String(share), "aria-label": text }),
      el("span", { class: "drona-status__percent", "aria-hidden": "true", text: `${share} %` }),
    );
  }

  setStatus(text, tone, retry = false) {
    this.status.replaceChildren(el("span", { class: "drona-status__dot", "aria-hidden": "true" }), text);
    this.status.dataset.tone = tone;
    delete this.status.dataset.text;
    if (retry) {
      this.status.append(
        " ",
        button("Retry", {
          kind: "link",
          onClick: () => runner.restart(),
        }),
      );
    }
  }

  get code() {
    return this.editor.getCode();
  }

  run() {
    this._start("run");
  }

  /** Run under the step tracer; the result's trace opens the Visualization canvas. */
  visualize() {
    this._start("trace");
  }

  /** Run the scenario's function beside the model; the Simulation canvas draws each request live. */
  simulate() {
    if (!this.scenario) return;
    if (!this.simulator.element.isConnected) this.visualizer.element.after(this.simulator.element);
    this._start("simulate");
  }

  _start(kind) {
    if (this.busy || runner.state !== "ready" || this.disposed) return;
    this.busy = kind;
    this.output.clear();
    this.refresh();
    this.setStatus(runner.busy ? WAITING : "Running…", "busy");
    if (kind === "run") this.beforeRun();
    if (kind === "simulate") this.simulator.begin(this.scenario.kind);
    const options = {
      timeLimit: this.timeLimit,
      onStart: () => this.setStatus("Running…", "busy"),
      stdin: this.stdinBox ? this.stdinBox.value : "",
      onOutput: (kind, text) => this.output.write(kind, text),
      onEvent: (entry) => this.simulator && this.simulator.add(entry),
      onInput: () => {
        this.setStatus("Waiting for your input…", "busy");
        this.output.askInput((line) => {
          this.setStatus("Running…", "busy");
          job.answer(line);
        });
      },
    };
    const job = kind === "simulate" ? runner.simulate(this.code, this.scenario, options) : runner[kind](this.code, options);
    this.job = job;
    job.result.then((result) => this.afterRun(result));
  }

  beforeRun() {}

  afterRun(result) {
    this.job = null;
    this.busy = null;
    if (this.disposed) return;
    this.output.cancelInput();
    const out = this.output;
    if (this.simulator && this.simulator.element.dataset.state === "running") {
      if (result.status === "ok" && result.simulation) {
        const answer = result.simulation.answer || {};
        if (answer.kind === "error" && answer.error) out.traceback(answer.error.traceback, "Your function raised an error:");
        else out.note("Simulation finished. Every request is drawn below.", "success");
        this.simulator.finish(result.simulation);
        this.refresh();
        return; // like a visualization, a simulation is not a Run
      }
      this.simulator.fail();
    }
    if (result.status === "ok" && result.trace) {
      if (result.trace.error) out.traceback(result.trace.error, "Your program stopped with an error:");
      else out.note("Program finished. Step through it below.", "success");
      this.visualizer.show(result.trace);
      this.refresh();
      return; // a visualization is not a Run: nothing else (drafts, tutor, progress) reacts to it
    } else if (result.status === "ok") {
      if (!out.size) out.note("(Your program printed nothing.)", "muted");
      out.note("Program finished.", "success");
    } else if (result.status === "error") {
      let lead = "Your program stopped with an error:";
      if (/^EOFError/m.test(result.traceback) && this.stdinBox) {
        lead = "Your program asked for more input() than the “Program input” box gives, one line per call:";
      }
      out.traceback(result.traceback, lead);
    } else if (result.status === "timeout") {
      out.note(stopMessage(result.seconds), "error");
    } else if (result.status === "stopped") {
      out.note("Stopped.", "warning");
    } else if (result.status === "crashed") {
      out.note(`Python stopped unexpectedly (${result.message}). It is restarting; run your program again.`, "error");
    }
    this.refresh();
    this.afterRunHook(result);
  }

  afterRunHook() {}

  stop() {
    if (this.job) this.job.stop();
  }

  dispose() {
    this.disposed = true;
    if (this.job) this.job.stop();
    this.unsubscribe();
    this.editor.destroy();
  }
}
