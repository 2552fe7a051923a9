// A sandbox worker: runs learner Python in Pyodide on Node.js for sidecar/sandbox (see __init__.py).
//
// Started by the sidecar through launch.py (rlimits, seccomp), usually inside a user+network
// namespace, with an empty environment and Node's permission model (it may read only the Pyodide
// runtime and this file; no child processes, workers, addons or file writes).
//
// Layers inside this process, in the order they are applied:
//   1. JS lockdown, before any Python exists: the real `process` object is swapped for an inert
//      stub, network modules are neutered, fetch/WebSocket/... are removed, eval and the Function
//      constructors are disabled (eval is put back only while Pyodide instantiates, because its
//      runtime evals its own EM_JS snippets then; no Python runs at that time).
//   2. Every job gets a fresh interpreter restored from a memory snapshot, prepared while idle, so
//      nothing a learner leaves behind reaches the next learner's job. Its `js` module is an
//      empty object and the Pyodide API object loses its file-system, package and loader hooks.
//   3. runner.py installs a Python audit hook (no JS bridges, ctypes, tracing, gc walking, code
//      objects from bytes, processes or sockets) and supplies small per-test step functions.
//   4. Verdicts are decided here, outside Python: a test passes only when executing its code
//      returned normally. Learner output goes to in-memory sinks; only this host writes to fd 1.
//
// Protocol (one JSON object per line; the first message is followed by the snapshot bytes):
//   in:  {op:"config", mode:"serve"|"snapshot", harness, runner, snapshot_size, output_limit,
//         python_layer?: false (escape-suite only: leave runner.py's audit hook out)}
//        {op:"begin", nonce, kind:"grade"|"run", code, stdin?}
//        {op:"test", nonce, index, source, stdin, seed}         (grade jobs, one test at a time)
//        {op:"end", nonce}
//   out: {op:"ready"} after each fresh interpreter; {op:"started", nonce} before any learner code
//        {op:"result", nonce, index, passed, message}; {op:"output", nonce, text} (run jobs)
//        {op:"done", nonce, memory, fatal, output_chars, output_cut, error?}
//        {op:"snapshot", size} + the snapshot bytes (snapshot mode)
import { constants as fsConstants } from "node:fs";
import dgram from "node:dgram";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import { pathToFileURL } from "node:url";

const realProcess = process;
const realEval = globalThis.eval;
const PYODIDE_DIR = realProcess.argv[2];
const EMPTY = Object.freeze(Object.create(null)); // what Python's `import js` would see
const PY_ENV = { HOME: "/home/pyodide", LANG: "C.UTF-8" };

function send(obj) {
  realProcess.stdout.write(JSON.stringify(obj) + "\n");
}

// ---- 1. JS lockdown ------------------------------------------------------------------------
function denied(what) {
  return function blocked() {
    throw new Error(`${what} is not available in the sandbox`);
  };
}

function lockdown() {
  // Pyodide's loader reads these few fields at each load; nothing else of `process` is reachable.
  const stdio = (fd) => Object.freeze({ fd, isTTY: false, write: () => true });
  const stub = {
    versions: Object.freeze({ ...realProcess.versions }),
    version: realProcess.version,
    platform: "linux",
    argv: Object.freeze(["node"]),
    env: Object.freeze({}),
    exitCode: undefined, // Emscripten's exit() writes here; harmless on the stub
    getuid: () => 1000,
    umask: () => 0o022,
    binding: (name) => {
      if (name === "constants") return { fs: fsConstants }; // Pyodide's NODEFS asks for this
      throw new Error("process.binding is not available in the sandbox");
    },
    stdin: stdio(-1),
    stdout: stdio(-1),
    stderr: stdio(-1),
  };
  Object.defineProperty(globalThis, "process", { value: stub, writable: false, configurable: false });
  for (const name of ["fetch", "WebSocket", "EventSource", "XMLHttpRequest", "Request", "Response", "Headers",
    "FormData", "navigator", "require", "module", "importScripts"]) {
    try {
      delete globalThis[name];
    } catch {
      // non-configurable globals are not among these
    }
  }
  // Pyodide frees Python objects behind collected PyProxies from a FinalizationRegistry callback,
  // which could run a learner's __del__ in a discarded interpreter during a later job. Without
  // one, those objects simply go away with their interpreter.
  globalThis.FinalizationRegistry = class FinalizationRegistry {
    register() {}
    unregister() {}
  };
  // Learner-reachable JS must not write to the protocol stream.
  for (const level of ["log", "info", "debug", "trace", "dir", "table"]) console[level] = console.error;
  // Network: the namespace and seccomp stop sockets at the OS (the real barrier); this also
  // takes Node's own entry points away from anything that reaches JavaScript.
  net.connect = net.createConnection = net.createServer = denied("network access");
  net.Socket.prototype.connect = net.Server.prototype.listen = denied("network access");
  tls.connect = denied("network access");
  dgram.createSocket = denied("network access");
  http.request = http.get = https.request = https.get = denied("network access");
  for (const api of [dns, dns.promises]) {
    for (const key of Object.keys(api)) if (typeof api[key] === "function") api[key] = denied("DNS");
  }
  // Code generation from strings: no eval, no Function constructors (reachable from any function
  // as .constructor). Proxies keep `instanceof Function` and `.name` working for Pyodide.
  for (const fn of [function () {}, async function () {}, function* () {}, async function* () {}]) {
    const prototype = Object.getPrototypeOf(fn);
    const guarded = new Proxy(prototype.constructor, { apply: denied("code generation"),
      construct: denied("code generation") });
    Object.defineProperty(prototype, "constructor", { value: guarded, writable: false, configurable: false });
    if (prototype === Function.prototype) {
      Object.defineProperty(globalThis, "Function", { value: guarded, writable: false, configurable: false });
    }
  }
  delete globalThis.eval;
}

// Record wasm memory growth that failed (Python then raises MemoryError); the cap itself is
// --wasm-max-mem-pages, enforced by V8.
let growFailed = false;
const realGrow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function grow(pages) {
  try {
    return realGrow.call(this, pages);
  } catch (err) {
    growFailed = true;
    throw err;
  }
};

// Compile pyodide.asm.wasm once per process; every fresh interpreter instantiates the same module.
// Only while Pyodide boots (no learner code runs then) is a large module taken to be Pyodide's.
let wasmModule = null;
let booting = false;
const realInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function instantiate(source, imports) {
  if (booting && source && !(source instanceof WebAssembly.Module) && source.byteLength > 1_000_000) {
    wasmModule ??= await WebAssembly.compile(source);
    return { instance: await realInstantiate(wasmModule, imports), module: wasmModule };
  }
  return realInstantiate(source, imports);
};

// ---- stdin: a config line, the snapshot bytes, then JSON lines --------------------------------
let chunks = []; // unparsed input; joined only when complete (the snapshot is ~30 MB)
let have = 0;
let needBytes = 0;
let snapshot = null;
const inbox = [];
let wake = null;

function joined() {
  if (chunks.length > 1) chunks = [Buffer.concat(chunks)];
  return chunks[0] || Buffer.alloc(0);
}

realProcess.stdin.on("data", (chunk) => {
  chunks.push(chunk);
  have += chunk.length;
  parse();
  if (wake && inbox.length && needBytes === 0) wake();
});

function parse() {
  for (;;) {
    if (needBytes > 0) {
      if (have < needBytes) return;
      const all = joined();
      snapshot = new Uint8Array(all.subarray(0, needBytes));
      chunks = [all.subarray(needBytes)];
      have -= needBytes;
      needBytes = 0;
      continue;
    }
    const buffer = joined();
    const newline = buffer.indexOf(10);
    if (newline < 0) return;
    const msg = JSON.parse(buffer.subarray(0, newline).toString("utf8"));
    chunks = [buffer.subarray(newline + 1)];
    have -= newline + 1;
    if (msg.op === "config") needBytes = msg.snapshot_size || 0;
    inbox.push(msg);
  }
}
realProcess.stdin.on("end", () => realProcess.exit(0)); // the sidecar went away or closed us

async function nextMessage() {
  while (!inbox.length || needBytes > 0) await new Promise((resolve) => (wake = resolve));
  return inbox.shift();
}

// ---- 2. fresh interpreters ------------------------------------------------------------------
let loadPyodide = null;
let config = null;

// Learner output. Each interpreter gets its own sink, live only while that interpreter's job runs,
// so code in a discarded interpreter could never write into a later job's output.
let sink = null;

function makeSink() {
  const self = {
    mode: "grade", // "grade": count only; "run": stream up to output_limit characters to the parent
    nonce: null,
    chars: 0,
    kept: 0,
    pending: "",
    stdin: new Uint8Array(0), // run jobs: the whole input, consumed by read()
    decoder: new TextDecoder(), // streaming: a character may arrive split over two writes
    write(bytes) {
      if (sink !== self) return bytes.length;
      const text = self.decoder.decode(bytes, { stream: true });
      self.chars += text.length;
      if (self.mode === "run" && self.kept < config.output_limit) {
        const part = text.slice(0, config.output_limit - self.kept);
        self.kept += part.length;
        self.pending += part;
        if (self.pending.length >= 4096) self.flush();
      }
      return bytes.length;
    },
    flush() {
      // Sent while the program runs, so output printed before a timeout still reaches the learner.
      if (self.pending && sink === self) send({ op: "output", nonce: self.nonce, text: self.pending });
      self.pending = "";
    },
    read(buffer) {
      // Byte-level, so long lines are not cut at Pyodide's line buffer; 0 bytes means EOF.
      if (sink !== self || self.mode !== "run") return 0;
      const size = Math.min(buffer.length, self.stdin.length);
      buffer.set(self.stdin.subarray(0, size));
      self.stdin = self.stdin.subarray(size);
      return size;
    },
  };
  return self;
}

async function boot(options) {
  globalThis.eval = realEval; // Pyodide evals its own EM_JS snippets while it instantiates
  booting = true;
  try {
    return await loadPyodide({ indexURL: PYODIDE_DIR, jsglobals: EMPTY, env: PY_ENV, ...options });
  } finally {
    booting = false;
    delete globalThis.eval;
  }
}

async function prepare() {
  const py = await boot({ _loadSnapshot: snapshot });
  const out = makeSink();
  py.setStdout({ write: out.write });
  py.setStderr({ write: out.write });
  py.setStdin({ read: out.read, isatty: false });
  const ns = py.toPy({});
  py.runPython(config.runner, { globals: ns, filename: "drona_runner.py" });
  // References taken before any learner code runs; JS holds them, Python cannot reach them.
  const [pristine, harnessCode, runnerCode, Random, dict, exec, builtins] = ns
    .get("install")(config.harness, config.runner, config.python_layer !== false)
    .toJs({ depth: 1 });
  // Nothing Python might reach may load code, mount host folders or open sockets.
  const api = py._api;
  for (const name of ["loadScript", "loadDynlib", "loadBinaryFile", "initializeNodeSockFS", "scheduleCallback",
    "install", "rawRun"]) {
    api[name] = denied(name);
  }
  for (const name of ["_api", "_module", "FS", "PATH", "ERRNO_CODES", "loadPackage", "loadPackagesFromImports",
    "mountNodeFS", "mountNativeFS", "useNodeSockFS", "registerJsModule", "unpackArchive", "registerComlink",
    "makeMemorySnapshot", "setDebug", "pyodide_py", "canvas", "runPython", "runPythonAsync", "pyimport"]) {
    try {
      Object.defineProperty(py, name, { value: undefined, configurable: false, writable: false });
    } catch {
      // already fixed by Pyodide: nothing to hide
    }
  }
  return { pristine, harnessCode, runnerCode, Random, dict, exec, builtins, sink: out, dead: null };
}

// ---- 4. jobs --------------------------------------------------------------------------------
// A module namespace executed afresh from a code object compiled at install time.
function fresh(interp, name, code, builtins) {
  const ns = interp.dict();
  ns.set("__name__", name);
  ns.set("__builtins__", builtins);
  interp.exec(code, ns);
  return ns;
}

function describeError(err) {
  const type = err && typeof err.type === "string" ? err.type : "";
  if (type) return `The test was stopped by ${type}.`;
  return "The program stopped the Python interpreter.";
}

function isFatal(err) {
  return !err || err.pyodide_fatal_error || typeof err.type !== "string";
}

function clip(text) {
  const limit = config.output_limit;
  return text.length > limit ? text.slice(0, limit) + "\n… (cut off)" : text;
}

function runTest(interp, job, msg) {
  if (interp.dead) return { passed: false, message: interp.dead, fatal: true };
  try {
    // A fresh harness and fresh step functions per test: whatever the program changed in the
    // previous ones (they are reachable from its own functions) is gone.
    const harness = fresh(interp, "drona_harness", interp.harnessCode, interp.builtins);
    const runner = fresh(interp, "drona_runner", interp.runnerCode, interp.dict(interp.pristine));
    const execute = harness.get("execute");
    const ProgramError = harness.get("ProgramError");
    const rng = interp.Random(msg.seed);
    const program = runner.get("program_step")(execute, ProgramError, job.code, msg.stdin);
    if (program.get(0) !== true) {
      if (program.get(2) === "MemoryError") job.memory = true;
      const message = program.get(1);
      return { passed: false, message: clip(typeof message === "string" ? message : "Your program raised an error.") };
    }
    const output = program.get(2);
    if (output.length > config.output_limit) job.output = true;
    const scope = interp.dict(program.get(1));
    scope.set("__builtins__", interp.dict(interp.pristine)); // the test sees unpatched builtins
    scope.set("__name__", "__test__");
    scope.set("output", output);
    scope.set("rng", rng);
    scope.set("run", runner.get("make_rerun")(execute, job.code));
    const verdict = runner.get("test_step")(harness.get("_register_source"), ProgramError, msg.source, scope);
    // Only the step's own `return True`, after the test code returned, is a pass.
    if (verdict === true) return { passed: true, message: "" };
    const message = verdict && typeof verdict.get === "function" ? verdict.get(0) : null;
    return { passed: false, message: clip(typeof message === "string" ? message : "The test failed.") };
  } catch (err) {
    if (isFatal(err)) interp.dead = describeError(err);
    return { passed: false, message: describeError(err), fatal: isFatal(err) };
  }
}

function runProgram(interp, job) {
  sink.mode = "run";
  sink.nonce = job.nonce;
  sink.stdin = new TextEncoder().encode(String(job.stdin || ""));
  let error = null;
  try {
    const harness = fresh(interp, "drona_harness", interp.harnessCode, interp.builtins);
    const result = harness.get("run_program")(job.code);
    error = result === undefined || result === null ? null : clip(String(result));
  } catch (err) {
    error = describeError(err);
    job.fatal = true;
  }
  sink.flush();
  sink.mode = "grade";
  return { error };
}

async function serve() {
  let interp = await prepare();
  send({ op: "ready" });
  for (;;) {
    const begin = await nextMessage();
    if (begin.op !== "begin") continue;
    const job = { nonce: begin.nonce, code: begin.code, stdin: begin.stdin, memory: false, output: false };
    send({ op: "started", nonce: job.nonce }); // before any learner code: a death until now is retried
    growFailed = false;
    sink = interp.sink;
    let done = { op: "done", nonce: job.nonce };
    if (begin.kind === "run") {
      done = { ...done, ...runProgram(interp, job) };
    } else {
      for (;;) {
        const msg = await nextMessage();
        if (msg.op === "end") break;
        if (msg.op !== "test" || msg.nonce !== job.nonce) continue;
        const result = runTest(interp, job, msg);
        send({ op: "result", nonce: job.nonce, index: msg.index, ...result });
      }
    }
    const memory = job.memory || growFailed;
    send({ ...done, memory, fatal: !!(job.fatal || interp.dead), output_chars: sink.chars,
      output_cut: job.output || sink.chars > config.output_limit });
    sink = null;
    interp = null; // dropped: the next job gets a fresh interpreter
    const started = performance.now();
    interp = await prepare();
    send({ op: "ready", prepare_ms: Math.round(performance.now() - started) });
  }
}

async function makeSnapshot() {
  const py = await boot({ _makeSnapshot: true });
  // Warm what the harness and typical programs import, so jobs do not pay for it.
  py.runPython("import contextlib, io, linecache, random, traceback, math, string, collections, itertools");
  const bytes = py.makeMemorySnapshot();
  send({ op: "snapshot", size: bytes.length });
  realProcess.stdout.write(bytes, () => realProcess.exit(0));
}

async function main() {
  ({ loadPyodide } = await import(pathToFileURL(PYODIDE_DIR + "pyodide.mjs").href));
  config = await nextMessage();
  lockdown();
  if (config.mode === "snapshot") await makeSnapshot();
  else await serve();
}

main().catch((err) => {
  try {
    send({ op: "error", message: String((err && err.stack) || err).slice(0, 2000) });
  } finally {
    realProcess.exit(3);
  }
});
