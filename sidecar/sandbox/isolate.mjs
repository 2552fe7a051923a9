// One sandbox job's isolate: a Node worker thread with its own V8 isolate and JS realm, and its
// own Pyodide interpreter restored from the memory snapshot. host.mjs starts it before a job
// arrives (so a job starts warm), gives it exactly one job, and terminates it afterwards: no JS
// or Python state survives from one job to the next.
//
// Layers, in the order they are applied:
//   1. JS lockdown before any Python exists: `process` becomes an inert stub, network modules and
//      fetch/WebSocket/... are gone, eval and the Function constructors refuse to run.
//   2. Pyodide boots with an empty `js` module; its API object loses every loader and file hook.
//   3. runner.py locks the interpreter (no JS bridge, no builtin-module loader, an audit hook).
//   4. JS intrinsics are frozen, so nothing that reaches JavaScript can plant a getter on a shared
//      prototype (Object.prototype and friends).
//   5. The job's memory budget is enforced on the wasm memory's growth (Python gets MemoryError).
// The isolate answers questions about the learner's program (run, look up, call); it never sees a
// test, an expected value or a verdict: those live in the trusted judge process (judge.py).
//
// Messages with host.mjs (structured clone over the worker port):
//   from host: {op:"begin", code, memoryBytes, outputLimit} then {op:"ask", seq, request, stream?}
//   to host:   {op:"ready"} | {op:"failed", message} | {op:"started"}
//              {op:"answer", seq, reply, output, cut} | {op:"output", seq, text} (stream: partial output)
import { parentPort, workerData } from "node:worker_threads";
import { constants as fsConstants } from "node:fs";
import dgram from "node:dgram";
import dns from "node:dns";
import net from "node:net";
import { pathToFileURL } from "node:url";

const port = parentPort; // taken before the lockdown; nothing Python reaches can get it back from here
const { module: wasmModule, snapshot, pyodideDir, runner, harness, pythonLayer, wheels } = workerData;
const WHEELS_DIR = "/drona-wheels"; // must match runner.py's WHEELS_DIR
const realEval = globalThis.eval;
const EMPTY = Object.freeze(Object.create(null)); // what Python's `import js` would see
const PY_ENV = { HOME: "/home/pyodide", LANG: "C.UTF-8" };

function denied(what) {
  return function blocked() {
    throw new Error(`${what} is not available in the sandbox`);
  };
}

// ---- 1. JS lockdown ------------------------------------------------------------------------
function lockdown() {
  const stdio = (fd) => Object.freeze({ fd, isTTY: false, write: () => true });
  const stub = {
    versions: Object.freeze({ ...process.versions }),
    version: process.version,
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
    "FormData", "navigator", "require", "module", "importScripts", "BroadcastChannel", "MessageChannel",
    "MessagePort", "Worker", "SharedArrayBuffer", "Atomics"]) {
    try {
      delete globalThis[name];
    } catch {
      // non-configurable globals are not among these
    }
  }
  // Pyodide frees Python objects behind collected PyProxies from a FinalizationRegistry callback;
  // without one, those objects go away with the isolate.
  globalThis.FinalizationRegistry = class FinalizationRegistry {
    register() {}
    unregister() {}
  };
  for (const level of ["log", "info", "debug", "trace", "dir", "table", "error", "warn"]) console[level] = () => {};
  // http, https and tls connect through net.Socket: neutering net covers them (and loading them
  // in every isolate would cost a job's start-up time).
  net.connect = net.createConnection = net.createServer = denied("network access");
  net.Socket.prototype.connect = net.Server.prototype.listen = denied("network access");
  dgram.createSocket = denied("network access");
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

// ---- 4. frozen intrinsics -------------------------------------------------------------------
function freezeIntrinsics() {
  const seen = new Set();
  const freeze = (value) => {
    if ((typeof value !== "object" && typeof value !== "function") || value === null || seen.has(value)) return;
    seen.add(value);
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) {
      const desc = Object.getOwnPropertyDescriptor(value, key);
      if (!desc) continue;
      if ("value" in desc) freeze(desc.value);
      else {
        freeze(desc.get);
        freeze(desc.set);
      }
    }
    freeze(Object.getPrototypeOf(value));
  };
  const typedArray = Object.getPrototypeOf(Uint8Array);
  for (const root of [Object, Function, Array, String, Number, Boolean, Symbol, BigInt, Error, TypeError, RangeError,
    SyntaxError, ReferenceError, EvalError, URIError, AggregateError, Promise, Map, Set, WeakMap, WeakSet, WeakRef,
    RegExp, Date, ArrayBuffer, DataView, typedArray, JSON, Math, Reflect, Proxy, globalThis.Intl, WebAssembly,
    Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async function () {}),
    Object.getPrototypeOf(async function* () {}), Object.getPrototypeOf([][Symbol.iterator]())]) {
    if (root !== undefined) freeze(root);
  }
}

// ---- 5. memory budget and the shared wasm module ---------------------------------------------
let memoryBytes = Infinity; // the job's budget for the interpreter's linear memory
let growFailed = false;
const realGrow = WebAssembly.Memory.prototype.grow;
WebAssembly.Memory.prototype.grow = function grow(pages) {
  if (this.buffer.byteLength + pages * 65536 > memoryBytes) {
    growFailed = true;
    throw new RangeError("the job's memory budget is used up");
  }
  try {
    return realGrow.call(this, pages);
  } catch (err) {
    growFailed = true;
    throw err;
  }
};
let booting = false;
const realInstantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async function instantiate(source, imports) {
  // Pyodide's main module, compiled once by the host and shared: only while Pyodide boots (no
  // learner code runs then) is a large module taken to be Pyodide's.
  if (booting && source && !(source instanceof WebAssembly.Module) && source.byteLength > 1_000_000) {
    return { instance: await realInstantiate(wasmModule, imports), module: wasmModule };
  }
  return realInstantiate(source, imports);
};

// ---- output: captured here, outside Python ---------------------------------------------------
const sink = {
  limit: 64000, // characters kept per request
  text: "",
  kept: 0,
  cut: false,
  seq: null, // while a streamed request runs, partial output is sent as it comes
  decoder: new TextDecoder(),
  write(bytes) {
    const text = sink.decoder.decode(bytes, { stream: true });
    const room = sink.limit - sink.kept;
    if (room > 0) {
      const part = text.slice(0, room);
      sink.text += part;
      sink.kept += part.length;
    }
    if (text.length > room) sink.cut = true;
    if (sink.seq !== null && sink.text.length >= 4096) {
      port.postMessage({ op: "output", seq: sink.seq, text: sink.text });
      sink.text = "";
    }
    return bytes.length;
  },
  take() {
    const text = sink.text;
    sink.text = "";
    return text;
  },
};

// ---- boot -----------------------------------------------------------------------------------
async function boot() {
  lockdown();
  const { loadPyodide } = await import(pathToFileURL(pyodideDir + "pyodide.mjs").href);
  globalThis.eval = realEval; // Pyodide evals its own EM_JS snippets while it instantiates
  booting = true;
  let py;
  try {
    py = await loadPyodide({ indexURL: pyodideDir, jsglobals: EMPTY, env: PY_ENV,
      _loadSnapshot: new Uint8Array(snapshot) });
  } finally {
    booting = false;
    delete globalThis.eval;
  }
  py.setStdout({ write: sink.write });
  py.setStderr({ write: sink.write });
  py.setStdin({ read: () => 0, isatty: false });
  // The vendored wheels into this isolate's own file system; runner.install puts them on sys.path.
  py.FS.mkdirTree(WHEELS_DIR);
  for (const wheel of wheels || []) py.FS.writeFile(`${WHEELS_DIR}/${wheel.name}`, new Uint8Array(wheel.bytes));
  const ns = py.toPy({});
  py.runPython(runner, { globals: ns, filename: "drona_runner.py" });
  const answer = ns.get("install")(harness, pythonLayer !== false);
  ns.destroy();
  // Emscripten's socket layer would "connect" without a network (a fake socket that never talks);
  // refuse sockets outright, as seccomp does for real ones.
  const emscripten = py._module;
  if (emscripten && emscripten.SOCKFS && emscripten.FS && emscripten.ERRNO_CODES) {
    emscripten.SOCKFS.createSocket = () => {
      throw new emscripten.FS.ErrnoError(emscripten.ERRNO_CODES.EACCES);
    };
  }
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
  freezeIntrinsics();
  return answer;
}

function describe(err) {
  const type = err && typeof err.type === "string" ? err.type : "";
  return type ? `the interpreter stopped with ${type}` : "the interpreter stopped";
}

async function main() {
  let answer;
  try {
    answer = await boot();
  } catch (err) {
    port.postMessage({ op: "failed", message: String((err && err.stack) || err).slice(0, 2000) });
    return;
  }
  let started = false;
  port.on("message", (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.op === "begin" && !started) {
      started = true;
      memoryBytes = Number(msg.memoryBytes) || Infinity;
      sink.limit = Number(msg.outputLimit) || sink.limit;
      answer(JSON.stringify({ op: "begin", code: String(msg.code) }));
      port.postMessage({ op: "started" });
      return;
    }
    if (msg.op !== "ask" || !started) return;
    sink.seq = msg.stream ? msg.seq : null;
    sink.take();
    sink.kept = 0;
    let reply;
    let fatal = null;
    try {
      reply = answer(String(msg.request));
    } catch (err) {
      fatal = describe(err); // a Python error that escaped the runner: the interpreter is unusable
    }
    sink.seq = null;
    port.postMessage({ op: "answer", seq: msg.seq, reply: fatal ? null : reply, output: sink.take(), cut: sink.cut,
      memory: growFailed, fatal });
  });
  port.postMessage({ op: "ready" });
}

main();
