// mastotape-replay: starts `mastotape replay` on a tape for a test and drives its control API
// (/_mastotape/). No dependencies: node:child_process, node:fs and the global fetch (Node 18+).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const CLOCKS = { virtual: ["--virtual-clock"], "max-speed": ["--max-speed"], realtime: [] };

/** The replayer could not start, refused a request, or crashed. */
export class ReplayError extends Error {
  constructor(message) {
    super(message);
    this.name = "ReplayError";
  }
}

function readOutput(dir) {
  try {
    return readFileSync(join(dir, "output"), "utf8");
  } catch {
    return "";
  }
}

function failure(what, code, signal, dir) {
  const how = signal ? `killed by ${signal}` : `exit status ${code}`;
  return new ReplayError(`mastotape replay ${what} (${how}); its output:\n${readOutput(dir)}`);
}

/** One running `mastotape replay`; made by startReplay(). */
export class Replay {
  #child;
  #dir;
  #exit = null; // { code, signal } once the process has ended
  #final = null;

  constructor(child, dir, port) {
    this.#child = child;
    this.#dir = dir;
    this.port = port;
    this.url = `ws://127.0.0.1:${port}`;
    this.httpUrl = `http://127.0.0.1:${port}`;
    this.pid = child.pid;
    child.on("exit", (code, signal) => {
      this.#exit = { code, signal };
    });
  }

  /**
   * /_mastotape/PATH?QUERY (GET to read; POST, with `{ post: true }`, for what changes the
   * replay, with `body` when it takes one); the JSON answer. Throws ReplayError with the API's
   * reason.
   */
  async control(path, query = {}, { post = false, body } = {}) {
    this.#checkRunning();
    const search = new URLSearchParams(query).toString();
    const url = `${this.httpUrl}/_mastotape/${path}${search ? `?${search}` : ""}`;
    const answer = await fetch(url, {
      method: post ? "POST" : "GET",
      body,
      signal: AbortSignal.timeout(10000),
    });
    const text = await answer.text();
    if (!answer.ok) {
      let reason = text;
      try {
        reason = JSON.parse(text).error ?? text;
      } catch {}
      throw new ReplayError(`/_mastotape/${path}: ${answer.status}: ${reason}`);
    }
    return JSON.parse(text);
  }

  /** Moves the virtual clock `ms` milliseconds on; the tape offset (ns) it reached. */
  async advance(ms) {
    return (await this.control("clock/advance", { ms }, { post: true })).tape_offset_ns;
  }

  /** Moves the virtual clock to frame `seq`, or to the next "frame", "heartbeat" or "gap". */
  async runTo({ seq, next } = {}) {
    if ((seq === undefined) === (next === undefined)) {
      throw new TypeError("runTo takes one of { seq } and { next }");
    }
    const query = seq !== undefined ? { seq } : { next };
    return (await this.control("clock/run-to", query, { post: true })).tape_offset_ns;
  }

  pause() {
    return this.control("pause", {}, { post: true });
  }
  resume() {
    return this.control("resume", {}, { post: true });
  }
  /** Adds a fault overlay, as `replay --fault SPEC` does. */
  addFault(spec) {
    return this.control("faults", { add: spec }, { post: true });
  }
  clearFaults() {
    return this.control("faults", { clear: 1 }, { post: true });
  }
  reset(client) {
    return this.control("reset", client ? { client } : {}, { post: true });
  }
  status() {
    return this.control("status");
  }
  /**
   * Waits until `clients` clients are connected and subscribed (a query string's stream or a
   * subscribe frame read): the moment to move a virtual clock. Rejects with a ReplayError saying
   * what it saw when that takes longer than `timeout` ms. Resolves to the status.
   */
  async waitForClient({ clients = 1, timeout = 10000 } = {}) {
    const until = Date.now() + timeout;
    for (;;) {
      const status = await this.status();
      if (status.clients_subscribed >= clients) return status;
      if (Date.now() >= until) {
        throw new ReplayError(
          `waitForClient: ${status.clients_subscribed} of ${clients} clients connected and ` +
            `subscribed after ${timeout} ms (${status.live_connections} live connections)`,
        );
      }
      await sleep(5);
    }
  }
  /** The report on every client so far (/_mastotape/report). */
  report() {
    return this.control("report");
  }

  /** Every request the clients made so far, in order (the journal, /_mastotape/requests). */
  async requests() {
    return (await this.control("requests")).requests;
  }
  /**
   * Adds expectations, objects as `replay --expect` reads them, e.g. `{ for_each: { event:
   * "notification", type: "mention" }, request: { method: "POST", path: "/api/v1/statuses",
   * params: { in_reply_to_id: "{status.id}" } } }`; judged by expectations() and in stop()'s
   * report.
   */
  expect(...expectations) {
    return this.control("expectations", { add: 1 }, { post: true, body: JSON.stringify(expectations) });
  }
  /** The expectations judged now: [{ name, expectation, met, checked, unmet: [...] }]. */
  async expectations() {
    return (await this.control("expectations")).expectations;
  }
  /** Replaces the stubs (objects as `replay --stub` reads them). */
  setStubs(stubs) {
    return this.control("stubs", { reload: 1 }, { post: true, body: JSON.stringify(stubs) });
  }
  /** What the replayer printed so far. */
  output() {
    return readOutput(this.#dir);
  }

  /**
   * Stops the replayer as Ctrl-C would and returns the final report. Throws ReplayError, with
   * the replayer's output, when it had crashed or does not end cleanly. A second call returns
   * the same report.
   */
  async stop() {
    if (this.#final) return this.#final;
    if (this.#exit) {
      throw failure("had ended before stop()", this.#exit.code, this.#exit.signal, this.#dir);
    }
    const ended = new Promise((resolve) => this.#child.once("exit", (code, signal) => resolve({ code, signal })));
    this.#child.kill("SIGINT");
    const patience = new AbortController();
    const result = await Promise.race([
      ended,
      sleep(30000, null, { signal: patience.signal }).catch(() => undefined),
    ]);
    patience.abort(); // the timer must not keep the test process alive
    if (result === null) {
      this.#child.kill("SIGKILL");
      throw failure("did not stop within 30 s of SIGINT", null, "SIGKILL", this.#dir);
    }
    if (result.code !== 0) {
      throw failure("did not stop cleanly", result.code, result.signal, this.#dir);
    }
    this.#final = JSON.parse(readFileSync(join(this.#dir, "report.json"), "utf8"));
    rmSync(this.#dir, { recursive: true, force: true });
    return this.#final;
  }

  #checkRunning() {
    if (this.#final) throw new ReplayError("the replayer is stopped");
    if (this.#exit) throw failure("had ended", this.#exit.code, this.#exit.signal, this.#dir);
  }
}

/**
 * Starts `mastotape replay TAPE` on a free port of 127.0.0.1 and resolves to its Replay once it
 * listens. Options: clock ("virtual", the default; "max-speed"; "realtime"), speed, faults
 * (["drop-after=3", ...]), requireToken, stubs and expect (files, as `replay --stub` and
 * `--expect` read them), args (more `replay` options), binary (default: $MASTOTAPE, else
 * `mastotape` on PATH).
 */
export async function startReplay(tape, options = {}) {
  const { clock = "virtual", speed, faults = [], requireToken, stubs, expect, args = [] } = options;
  const binary = options.binary ?? process.env.MASTOTAPE ?? "mastotape";
  if (!(clock in CLOCKS)) {
    throw new TypeError(`clock must be one of ${Object.keys(CLOCKS).join(", ")}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "mastotape-node-"));
  const portFile = join(dir, "port");
  const command = ["replay", String(tape), "--port-file", portFile, "--report", join(dir, "report.json"),
    ...CLOCKS[clock]];
  if (speed !== undefined) command.push("--speed", String(speed));
  for (const spec of faults) command.push("--fault", spec);
  if (stubs !== undefined) command.push("--stub", String(stubs));
  if (expect !== undefined) command.push("--expect", String(expect));
  if (requireToken !== undefined) {
    writeFileSync(join(dir, "token"), `${requireToken}\n`);
    command.push("--require-token-file", join(dir, "token"));
  }
  command.push(...args);
  const out = openSync(join(dir, "output"), "w");
  const child = spawn(binary, command, { stdio: ["ignore", out, out] });
  closeSync(out);
  let exit = null;
  let spawnError = null;
  child.on("exit", (code, signal) => {
    exit = { code, signal };
  });
  child.on("error", (e) => {
    spawnError = e;
  });
  for (let i = 0; i < 1000; i++) { // up to 10 s
    await sleep(10);
    if (spawnError) {
      rmSync(dir, { recursive: true, force: true });
      throw new ReplayError(`cannot run ${binary}: ${spawnError.message}; put mastotape on PATH or set MASTOTAPE`);
    }
    if (exit) throw failure("did not start", exit.code, exit.signal, dir);
    let text = "";
    try {
      text = readFileSync(portFile, "utf8");
    } catch {}
    if (text.endsWith("\n")) return new Replay(child, dir, Number(text));
  }
  child.kill("SIGKILL");
  throw failure("did not listen within 10 s", null, "SIGKILL", dir);
}

/** Starts a replayer, runs `fn(replay)`, and stops it (a crash fails the call). */
export async function withReplay(tape, options, fn) {
  const replay = await startReplay(tape, options);
  try {
    return await fn(replay);
  } finally {
    await replay.stop();
  }
}
