// The Python runner: a Web Worker that boots Pyodide from the site itself and runs the
// learner's code through the shared test harness (assets/drona/harness.py → `drona_harness`).
//
// It is started as a *module* worker (new Worker(url, {type: "module"})): Pyodide 314 refuses
// classic workers ("Classic web workers are not supported") and loads its runtime with import().
// The file itself is an esbuild IIFE bundle, which is valid module code too.
//
// Protocol (main thread → worker):
//   {type: "init", pyodideURL, harnessURL, snapshotURL?, interruptSAB?, stdinSAB?}
//                                             boot (may come from <head>); snapshotURL: a memory
//                                             snapshot made by site/tools/make-snapshot.mjs
//   {type: "attach", interruptSAB, stdinSAB}  shared buffers, when init came without them
//   {type: "run", id, code, stdin?}          stdin: text for input() when there is no stdinSAB
//   {type: "check", id, code, tests, seed}
//   {type: "trace", id, code, stdin?, maxSteps, tracerURL}
//                                             run under the step tracer (assets/drona/tracer.py,
//                                             fetched on first use) for the Visualization canvas
//   {type: "simulate", id, code, source, call, args, seed}
//                                             the Simulation canvas: run the program beside the scenario
//                                             (source: sidecar/courseware/simulation.py + the authored model)
//                                             and call `call` with the model, as grading does
// Worker → main thread:
//   {type: "status", text, progress}         boot progress; progress: 0..1, the share of the boot done
//   {type: "ready", version, timings}        Python can run now: the runtime, the harness and a
//                                            warm-up run are done, so the first program starts at once
//   {type: "boot-error", message}
//   {type: "stdout"|"stderr", id, text}      streamed program output (batched)
//   {type: "input", id}                      the program waits in input(); answer through stdinSAB
//   {type: "done", id, traceback}            run finished; traceback is null on success
//   {type: "test-start", id, index} / {type: "test-result", id, index, result}
//   {type: "checked", id, passed, results}
//   {type: "traced", id, trace}              trace: JSON text (see sidecar/courseware/tracer.py)
//   {type: "sim-event", id, event}           one recorded request (JSON text), as it happens
//   {type: "simulated", id, result}          JSON text: {error} or {answer, transcript, clock}
//   {type: "interrupted", id}                a KeyboardInterrupt escaped (Stop / time limit)
//   {type: "crashed", id, message}           Pyodide itself failed; the main thread restarts us
// (ESLint lints this file with Web Worker globals: see eslint.config.js.)

let pyodide = null;
let harness = null;
let currentId = null;
let mode = "idle"; // "run" | "check" | "idle"
let interrupt = null; // Uint8Array over a SharedArrayBuffer, when cross-origin isolated
let stdinCtrl = null; // Int32Array [state, length] over a SharedArrayBuffer
let stdinData = null; // Uint8Array: the answered line, UTF-8
let stdinLines = null; // fallback: lines supplied with the run
let tracer = null; // drona_tracer, imported on the first "trace"
// Vendored pure-Python wheels (pytest and what it needs: assets/drona/wheels/index.json), installed the
// first time a program imports one of their modules, so other lessons never download them.
let wheels = null; // {base: URL, wheels: [file], modules: [name], installed: Promise|null}
const MAX_STREAM_CHARS = 1_000_000;

class OutStream {
  constructor(kind) {
    this.kind = kind;
    this.decoder = new TextDecoder();
    this.buffer = "";
    this.lastFlush = 0;
    this.sent = 0;
    this.other = null;
    this.isatty = true; // line buffering in Python, so output streams while the program runs
  }

  reset() {
    this.buffer = "";
    this.sent = 0;
    this.decoder = new TextDecoder();
  }

  write(bytes) {
    if (mode !== "run") return bytes.length; // tests capture their own output
    if (this.other && this.other.buffer) this.other.flush(); // keep stdout/stderr in order
    this.buffer += this.decoder.decode(bytes, { stream: true });
    const now = performance.now();
    if (this.buffer.length > 8192 || now - this.lastFlush > 40) this.flush();
    return bytes.length;
  }

  flush() {
    if (this.buffer && this.sent < MAX_STREAM_CHARS) {
      let text = this.buffer;
      if (this.sent + text.length > MAX_STREAM_CHARS) text = text.slice(0, MAX_STREAM_CHARS - this.sent);
      this.sent += text.length;
      postMessage({ type: this.kind, id: currentId, text });
    }
    this.buffer = "";
    this.lastFlush = performance.now();
  }
}

const stdout = new OutStream("stdout");
const stderr = new OutStream("stderr");
stdout.other = stderr;
stderr.other = stdout;

function flushAll() {
  stdout.flush();
  stderr.flush();
}

function readStdin() {
  if (mode !== "run") return null; // tests feed input() themselves; anything else reads EOF
  if (stdinCtrl) {
    flushAll(); // the prompt must appear before the input field
    Atomics.store(stdinCtrl, 0, 0);
    postMessage({ type: "input", id: currentId });
    Atomics.wait(stdinCtrl, 0, 0);
    const state = Atomics.load(stdinCtrl, 0);
    if (state !== 1) {
      // Stopped while waiting: raise KeyboardInterrupt inside the program when possible.
      if (interrupt && pyodide) pyodide.checkInterrupt();
      return null;
    }
    const length = Atomics.load(stdinCtrl, 1);
    return new TextDecoder().decode(stdinData.slice(0, length)) + "\n";
  }
  if (stdinLines && stdinLines.length) {
    const line = stdinLines.shift();
    flushAll();
    postMessage({ type: "stdin", id: currentId, text: line + "\n" }); // echo, like a terminal
    return line + "\n";
  }
  return null; // EOF: input() raises EOFError
}

function isKeyboardInterrupt(err) {
  return !!err && (err.type === "KeyboardInterrupt" || /KeyboardInterrupt/.test(String(err.message || "")));
}

function fatal(id, err) {
  postMessage({ type: "crashed", id, message: String((err && err.message) || err) });
}

function progress(text, share) {
  postMessage({ type: "status", text, progress: share });
}

async function boot(msg) {
  try {
    progress("Loading Python…", 0.05);
    const wheelsBase = new URL("wheels/", new URL(msg.harnessURL, self.location.href));
    fetch(new URL("index.json", wheelsBase)).then((r) => (r.ok ? r.json() : null)).then((index) => {
      if (index && Array.isArray(index.wheels) && Array.isArray(index.modules)) {
        wheels = { base: wheelsBase, wheels: index.wheels, modules: index.modules, installed: null };
      }
    }).catch(() => {}); // a site without vendored wheels: imports of them fail as they would anywhere
    const harnessText = fetch(msg.harnessURL).then((r) => {
      if (!r.ok) throw new Error(`could not fetch the test harness (${r.status})`);
      return r.text();
    });
    harnessText.catch(() => {}); // reported below, after Pyodide
    const t0 = performance.now();
    // Download the snapshot (if any) while the Pyodide module loads; null when unavailable.
    const snapshotResponse = msg.snapshotURL
      ? fetch(msg.snapshotURL)
          .then((r) => (r.ok ? r : null))
          .catch(() => null)
      : null;
    const { loadPyodide } = await import(/* webpackIgnore: true */ msg.pyodideURL + "pyodide.mjs");
    const t1 = performance.now();
    progress("Loading Python…", 0.2);
    let fromSnapshot = false;
    if (snapshotResponse) {
      try {
        // Only an answered request reaches loadPyodide: a rejected _loadSnapshot promise would
        // surface as an unhandled rejection inside Pyodide.
        const response = await snapshotResponse;
        if (response) {
          pyodide = await loadPyodide({ indexURL: msg.pyodideURL, _loadSnapshot: response.arrayBuffer() });
          fromSnapshot = true;
        }
      } catch (err) {
        console.warn("drona: booting without the Pyodide snapshot:", err);
        pyodide = null;
      }
    }
    if (!pyodide) pyodide = await loadPyodide({ indexURL: msg.pyodideURL, fullStdLib: false });
    const t2 = performance.now();
    progress("Loading the test harness…", 0.75);
    pyodide.setStdout(stdout);
    pyodide.setStderr(stderr);
    pyodide.setStdin({ stdin: readStdin, isatty: false });
    attach(msg);
    pyodide.FS.mkdirTree("/drona");
    pyodide.FS.writeFile("/drona/drona_harness.py", await harnessText);
    pyodide.runPython("import sys\nsys.path.insert(0, '/drona')\nimport drona_harness");
    harness = pyodide.pyimport("drona_harness");
    const t3 = performance.now();
    progress("Warming up Python…", 0.9);
    warmUp();
    const t4 = performance.now();
    const timings = { import: t1 - t0, loadPyodide: t2 - t1, harness: t3 - t2, warmUp: t4 - t3, snapshot: fromSnapshot };
    postMessage({ type: "ready", version: pyodide.version, timings });
  } catch (err) {
    postMessage({ type: "boot-error", message: String((err && err.message) || err) });
  }
}

// One program and one test through the harness before "ready": the first real run otherwise pays
// for compiling and importing what the harness uses lazily, so a learner who pressed Run at "Ready"
// waited about a second more. Output is dropped (mode is "idle"); a failure here is not fatal.
function warmUp() {
  try {
    harness.run_program("_drona_warm = [i * i for i in range(10)]\nprint(sum(_drona_warm))");
    const test = pyodide.toPy({ name: "warm-up", code: "pass", hidden: false });
    try {
      const result = harness.run_test("print(1)", test, 0);
      if (result && typeof result.destroy === "function") result.destroy();
    } finally {
      test.destroy();
    }
  } catch (err) {
    console.warn("drona: the Python warm-up failed (the first run may be slower):", err);
  }
}

function attach(msg) {
  if (msg.interruptSAB) interrupt = new Uint8Array(msg.interruptSAB);
  if (msg.stdinSAB) {
    stdinCtrl = new Int32Array(msg.stdinSAB, 0, 2);
    stdinData = new Uint8Array(msg.stdinSAB, 8);
  }
  if (pyodide && interrupt) pyodide.setInterruptBuffer(interrupt);
}

function begin(msg, kind) {
  currentId = msg.id;
  mode = kind;
  stdout.reset();
  stderr.reset();
  if (interrupt) interrupt[0] = 0;
}

function end() {
  flushAll();
  mode = "idle";
  stdinLines = null;
}

// Runs `execute` in "run" mode (output streams, input() asks the learner or reads msg.stdin) and
// posts what `reply` makes of its result; a Stop or a crash is reported instead. Run and trace.
function runProgram(msg, execute, reply) {
  begin(msg, "run");
  stdinLines = stdinCtrl ? null : String(msg.stdin || "").split(/\r?\n/);
  if (stdinLines && stdinLines.length && stdinLines[stdinLines.length - 1] === "") stdinLines.pop();
  let result;
  try {
    result = execute();
  } catch (err) {
    end();
    if (isKeyboardInterrupt(err)) postMessage({ type: "interrupted", id: msg.id });
    else fatal(msg.id, err);
    return;
  }
  end();
  postMessage(reply(result));
}

function run(msg) {
  runProgram(msg, () => harness.run_program(msg.code), (result) => ({
    type: "done",
    id: msg.id,
    traceback: result === undefined || result === null ? null : String(result),
  }));
}

function check(msg) {
  begin(msg, "check");
  const results = [];
  try {
    msg.tests.forEach((test, index) => {
      postMessage({ type: "test-start", id: msg.id, index });
      const pyTest = pyodide.toPy(test);
      let proxy = null;
      try {
        // Same as drona_harness.run_tests(code, tests, seed): test i gets seed + i.
        proxy = harness.run_test(msg.code, pyTest, msg.seed + index);
        const result = proxy.toJs({ dict_converter: Object.fromEntries });
        results.push(result);
        postMessage({ type: "test-result", id: msg.id, index, result });
      } finally {
        pyTest.destroy();
        if (proxy) proxy.destroy();
      }
    });
  } catch (err) {
    end();
    if (isKeyboardInterrupt(err)) postMessage({ type: "interrupted", id: msg.id });
    else fatal(msg.id, err);
    return;
  }
  end();
  postMessage({ type: "checked", id: msg.id, passed: results.every((r) => r.passed), results });
}

/** Does the program import a vendored package (e.g. `import pytest`, `from pluggy import …`)? */
function needsWheels(code) {
  if (!wheels || wheels.installed) return false;
  const names = wheels.modules.map((m) => m.replace(/[^A-Za-z0-9_]/g, "")).join("|");
  return new RegExp(`^\\s*(?:import|from)\\s+(?:${names})\\b`, "m").test(String(code || ""));
}

function installWheels() {
  if (!wheels.installed) {
    wheels.installed = (async () => {
      progress("Loading pytest…", 0.9);
      const target = pyodide.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
      const files = await Promise.all(wheels.wheels.map(async (name) => {
        const response = await fetch(new URL(name, wheels.base));
        if (!response.ok) throw new Error(`could not fetch ${name} (${response.status})`);
        return new Uint8Array(await response.arrayBuffer());
      }));
      for (const bytes of files) pyodide.unpackArchive(bytes, "wheel", { extractDir: target });
      pyodide.runPython("import importlib; importlib.invalidate_caches()");
    })();
    wheels.installed.catch(() => { wheels.installed = null; }); // a failed download may be retried
  }
  return wheels.installed;
}

async function loadTracer(url) {
  if (tracer) return tracer;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch the visualizer (${response.status})`);
  pyodide.FS.writeFile("/drona/drona_tracer.py", await response.text());
  tracer = pyodide.pyimport("drona_tracer");
  return tracer;
}

async function trace(msg) {
  try {
    await loadTracer(msg.tracerURL);
  } catch (err) {
    postMessage({ type: "traced", id: msg.id, error: String((err && err.message) || err) });
    return;
  }
  // As with Run: output streams to the panel and input() asks the learner.
  runProgram(msg, () => tracer.trace_json(msg.code, msg.maxSteps || 1000), (text) => ({
    type: "traced",
    id: msg.id,
    trace: String(text),
  }));
}

// The scenario's module (engine + authored model) for the Simulate button, built afresh per run.
function scenarioModule(source) {
  const build = pyodide.runPython(
    "def _drona_scenario_module(source):\n" +
    "    import types\n" +
    "    module = types.ModuleType('drona_simulation')\n" +
    "    module.__dict__['__drona_scenario_source__'] = source\n" +
    "    exec(compile(source, 'scenario.py', 'exec'), module.__dict__)\n" +
    "    return module\n" +
    "_drona_scenario_module",
  );
  try {
    return build(String(source));
  } finally {
    build.destroy();
  }
}

function simulate(msg) {
  let module = null;
  let args = null;
  try {
    module = scenarioModule(msg.source);
    args = pyodide.toPy(Array.isArray(msg.args) ? msg.args : []);
  } catch (err) {
    if (module) module.destroy();
    postMessage({ type: "simulated", id: msg.id, result: JSON.stringify({ error: String((err && err.message) || err) }) });
    return;
  }
  const listener = (line) => postMessage({ type: "sim-event", id: msg.id, event: String(line) });
  try {
    runProgram(msg, () => module.simulate(harness, msg.code, Number(msg.seed) || 1, String(msg.call), args, listener),
      (text) => ({ type: "simulated", id: msg.id, result: String(text) }));
  } finally {
    module.destroy();
    args.destroy();
  }
}

self.onmessage = (event) => {
  const msg = event.data || {};
  if (msg.type === "init") {
    boot(msg);
    return;
  }
  if (msg.type === "attach") {
    attach(msg);
    return;
  }
  if (!harness) {
    postMessage({ type: "crashed", id: msg.id, message: "Python is not loaded yet." });
    return;
  }
  const start = () => {
    if (msg.type === "run") run(msg);
    else if (msg.type === "check") check(msg);
    else if (msg.type === "trace") trace(msg);
    else if (msg.type === "simulate") simulate(msg);
  };
  if (!needsWheels(msg.code)) {
    start();
    return;
  }
  installWheels().then(start, (err) => {
    // The program still runs: its import then fails with Python's own ModuleNotFoundError.
    console.warn("drona: the vendored wheels could not be installed", err);
    start();
  });
};
