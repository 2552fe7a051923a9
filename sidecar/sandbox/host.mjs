// A sandbox host: one Node.js process that runs sandbox jobs, each in a fresh isolate (isolate.mjs,
// a worker thread with its own V8 isolate, JS realm and Pyodide interpreter), one job at a time.
//
// Started by the sidecar through launch.py (rlimits, seccomp), usually inside a user+network
// namespace, with an empty environment and Node's permission model (it may read only the Pyodide
// runtime and the two sandbox scripts; it may start worker threads, nothing else). The host
// itself never runs learner code: it compiles Pyodide's wasm module once, keeps one isolate
// booted ahead of the next job, relays a job's questions and answers, and terminates the isolate
// when the job ends. Everything an isolate says is treated as untrusted data.
//
// Protocol with the sidecar, one JSON object per line (the config line is followed by the
// snapshot's bytes):
//   in:  {op:"config", mode:"serve"|"snapshot", harness, runner, snapshot_size, python_layer?}
//        {op:"job", id, code, memory_bytes, output_limit}
//        {op:"ask", id, seq, request, stream?}      request: JSON text for runner.py's `answer`
//        {op:"end", id}                              normal end, timeout or kill: the isolate goes
//   out: {op:"ready"}  an isolate is booted and waiting (after start-up and after every job)
//        {op:"started", id} | {op:"answer", id, seq, reply, output, cut, memory, fatal}
//        {op:"output", id, seq, text} | {op:"ended", id, memory, crashed, reason}
//        {op:"error", message} (the host cannot go on) | {op:"snapshot", size} + bytes (snapshot mode)
import { Worker } from "node:worker_threads";
import { constants as fsConstants, readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const realProcess = process;
const PYODIDE_DIR = realProcess.argv[2];
const ISOLATE = new URL("./isolate.mjs", import.meta.url);
const MAX_REPLY = 4 << 20; // characters of one answer from an isolate

function send(obj) {
  realProcess.stdout.write(JSON.stringify(obj) + "\n");
}

// ---- stdin: a config line, the snapshot bytes, then JSON lines --------------------------------
let chunks = [];
let have = 0;
let needBytes = 0;
let snapshotBytes = null;
let config = null;
const early = [];

function joined() {
  if (chunks.length > 1) chunks = [Buffer.concat(chunks)];
  return chunks[0] || Buffer.alloc(0);
}

function parse() {
  for (;;) {
    if (needBytes > 0) {
      if (have < needBytes) return;
      const all = joined();
      snapshotBytes = new Uint8Array(all.subarray(0, needBytes));
      chunks = [all.subarray(needBytes)];
      have -= needBytes;
      needBytes = 0;
      start();
      continue;
    }
    const buffer = joined();
    const newline = buffer.indexOf(10);
    if (newline < 0) return;
    const msg = JSON.parse(buffer.subarray(0, newline).toString("utf8"));
    chunks = [buffer.subarray(newline + 1)];
    have -= newline + 1;
    if (msg.op === "config" && !config) {
      config = msg;
      needBytes = msg.snapshot_size || 0;
      if (!needBytes) start();
      continue;
    }
    if (!accepting) early.push(msg);
    else handle(msg);
  }
}

realProcess.stdin.on("data", (chunk) => {
  chunks.push(chunk);
  have += chunk.length;
  parse();
});
realProcess.stdin.on("end", () => realProcess.exit(0)); // the sidecar went away or closed us

// ---- isolates ---------------------------------------------------------------------------------
let started = false;
let accepting = false; // jobs are taken once the first isolate is ready
let wasmModule = null;
let sharedSnapshot = null;
let warm = null; // the isolate booted for the next job: {worker, ready: Promise<boolean>}
let job = null; // {id, worker, ended}
let failures = 0;

// The vendored wheels, decoded once and shared read-only with every isolate (each copies them into its
// own Emscripten file system).
let sharedWheels = null;

function wheels() {
  if (!sharedWheels) {
    sharedWheels = (config.wheels || []).map(({ name, data }) => {
      const bytes = Buffer.from(String(data), "base64");
      const shared = new SharedArrayBuffer(bytes.length);
      new Uint8Array(shared).set(bytes);
      return { name: String(name), bytes: shared };
    });
    config.wheels = null;
  }
  return sharedWheels;
}

function spawn() {
  const worker = new Worker(ISOLATE, {
    workerData: { module: wasmModule, snapshot: sharedSnapshot, pyodideDir: PYODIDE_DIR, runner: config.runner,
      harness: config.harness, pythonLayer: config.python_layer !== false, wheels: wheels() },
    env: {},
    execArgv: [],
    stdout: true, // an isolate's own stdout/stderr never reach the protocol stream
    stderr: true,
    resourceLimits: { maxOldGenerationSizeMb: 192, maxYoungGenerationSizeMb: 32 },
  });
  worker.stdout.resume();
  worker.stderr.resume();
  const isolate = { worker, ready: null };
  isolate.ready = new Promise((resolve) => {
    const settle = (ok, why) => {
      worker.off("message", onMessage);
      if (!ok) {
        failures += 1;
        worker.terminate().catch(() => {});
        if (failures > 5) fail(`isolates keep failing to start: ${why}`);
      } else failures = 0;
      resolve(ok);
    };
    const onMessage = (msg) => {
      if (msg && msg.op === "ready") settle(true);
      else if (msg && msg.op === "failed") settle(false, String(msg.message));
    };
    worker.on("message", onMessage);
    worker.once("error", (err) => settle(false, String(err)));
    worker.once("exit", (code) => settle(false, `exited with ${code}`));
  });
  return isolate;
}

async function prewarm() {
  for (;;) {
    const isolate = spawn();
    warm = isolate;
    if (await isolate.ready) {
      send({ op: "ready" });
      return;
    }
  }
}

function fail(message) {
  send({ op: "error", message: String(message).slice(0, 2000) });
  realProcess.exit(3);
}

async function begin(msg) {
  if (job) return send({ op: "ended", id: msg.id, crashed: true, reason: "busy" });
  let isolate = warm;
  while (!isolate || !(await isolate.ready)) {
    await prewarm();
    isolate = warm;
  }
  warm = null;
  const { worker } = isolate;
  const current = { id: msg.id, worker, ended: false, memory: false };
  job = current;
  const finish = (fields) => {
    if (current.ended) return;
    current.ended = true;
    send({ op: "ended", id: current.id, memory: current.memory, ...fields });
    if (job === current) job = null;
    worker.terminate().catch(() => {});
    prewarm();
  };
  current.finish = finish;
  worker.on("message", (reply) => {
    if (current.ended || !reply || typeof reply !== "object") return;
    if (reply.op === "started") return send({ op: "started", id: current.id });
    if (reply.op === "output") {
      return send({ op: "output", id: current.id, seq: reply.seq, text: String(reply.text).slice(0, MAX_REPLY) });
    }
    if (reply.op !== "answer") return;
    current.memory = current.memory || reply.memory === true;
    const answer = typeof reply.reply === "string" ? reply.reply : null;
    send({ op: "answer", id: current.id, seq: reply.seq, reply: answer && answer.length <= MAX_REPLY ? answer : null,
      output: String(reply.output || "").slice(0, MAX_REPLY), cut: reply.cut === true, memory: current.memory,
      fatal: reply.fatal ? String(reply.fatal).slice(0, 500) : null });
  });
  worker.once("error", (err) => {
    const memory = err && err.code === "ERR_WORKER_OUT_OF_MEMORY";
    current.memory = current.memory || memory;
    finish({ crashed: !memory, reason: memory ? "memory" : "error" });
  });
  worker.once("exit", () => finish({ crashed: true, reason: "exit" }));
  worker.postMessage({ op: "begin", code: String(msg.code), memoryBytes: Number(msg.memory_bytes) || 0,
    outputLimit: Number(msg.output_limit) || 64000 });
}

function handle(msg) {
  if (msg.op === "job") {
    begin(msg).catch((err) => fail(err && err.stack));
  } else if (msg.op === "ask") {
    if (job && job.id === msg.id) {
      job.worker.postMessage({ op: "ask", seq: msg.seq, request: String(msg.request), stream: msg.stream === true });
    }
  } else if (msg.op === "end") {
    if (job && job.id === msg.id) job.finish({ crashed: false, reason: "end" });
    else send({ op: "ended", id: msg.id, crashed: false, reason: "gone" });
  }
}

// ---- snapshot mode: boot once here, preload, and hand the memory snapshot back ---------------
async function makeSnapshot() {
  // Pyodide's Node start-up asks process.binding("constants"), which the permission model refuses:
  // the same small stand-in the isolates use (no learner code runs in this mode).
  const stub = Object.create(realProcess);
  stub.binding = (name) => {
    if (name === "constants") return { fs: fsConstants };
    throw new Error("process.binding is not available in the sandbox");
  };
  Object.defineProperty(globalThis, "process", { value: stub, writable: false, configurable: false });
  const { loadPyodide } = await import(pathToFileURL(PYODIDE_DIR + "pyodide.mjs").href);
  const py = await loadPyodide({ indexURL: PYODIDE_DIR, _makeSnapshot: true, jsglobals: Object.create(null),
    env: { HOME: "/home/pyodide", LANG: "C.UTF-8" } });
  const ns = py.toPy({});
  py.runPython(config.runner, { globals: ns, filename: "drona_runner.py" });
  ns.get("preload")(config.harness);
  ns.destroy();
  const bytes = py.makeMemorySnapshot();
  send({ op: "snapshot", size: bytes.length });
  realProcess.stdout.write(bytes, () => realProcess.exit(0));
}

async function start() {
  if (started) return;
  started = true;
  if (config.mode === "snapshot") return makeSnapshot();
  wasmModule = await WebAssembly.compile(readFileSync(PYODIDE_DIR + "pyodide.asm.wasm"));
  sharedSnapshot = new SharedArrayBuffer(snapshotBytes.length);
  new Uint8Array(sharedSnapshot).set(snapshotBytes);
  snapshotBytes = null;
  await prewarm();
  accepting = true;
  for (const msg of early.splice(0)) handle(msg);
}

realProcess.on("uncaughtException", (err) => fail(err && err.stack));
