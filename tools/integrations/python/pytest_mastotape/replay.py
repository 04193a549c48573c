"""A `mastotape replay` process and a client of its control API (/_mastotape/)."""

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

CLOCKS = {"virtual": "--virtual-clock", "max-speed": "--max-speed", "realtime": None}


class ReplayError(Exception):
    """The replayer could not start, refused a request, or crashed."""


class Replay:
    """One running `mastotape replay`. Made by start_replay() or the mastotape_replay fixture."""

    def __init__(self, proc, workdir, port):
        self._proc = proc
        self._workdir = workdir
        self.port = port
        self.url = f"ws://127.0.0.1:{port}"
        self.http_url = f"http://127.0.0.1:{port}"
        self._final = None

    # -- the control API ------------------------------------------------------------------

    def control(self, path, post=False, body=None, **query):
        """/_mastotape/PATH?QUERY (GET to read; POST, with post=True, for what changes the
        replay, with `body` (bytes) when it takes one); the JSON answer. Raises ReplayError on a
        refusal."""
        self._check_running()
        url = f"{self.http_url}/_mastotape/{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(url, data=(body or b"") if post else None,
                                         method="POST" if post else "GET")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            body = e.read().decode("utf-8", "replace")
            try:
                message = json.loads(body)["error"]
            except (ValueError, KeyError, TypeError):
                message = body
            raise ReplayError(f"/_mastotape/{path}: {e.code}: {message}") from None

    def advance(self, ms):
        """Moves the virtual clock `ms` milliseconds on; the tape offset (ns) it reached."""
        return self.control("clock/advance", post=True, ms=ms)["tape_offset_ns"]

    def run_to(self, seq=None, next=None):  # pylint: disable=redefined-builtin
        """Moves the virtual clock to frame `seq`, or to the next frame, heartbeat or gap."""
        if (seq is None) == (next is None):
            raise ValueError("run_to takes one of seq= and next=")
        query = {"seq": seq} if seq is not None else {"next": next}
        return self.control("clock/run-to", post=True, **query)["tape_offset_ns"]

    def pause(self):
        return self.control("pause", post=True)

    def resume(self):
        return self.control("resume", post=True)

    def add_fault(self, spec):
        """Adds a fault overlay, as `replay --fault SPEC` does."""
        return self.control("faults", post=True, add=spec)

    def clear_faults(self):
        return self.control("faults", post=True, clear=1)

    def reset(self, client=None):
        return self.control("reset", post=True, **({"client": client} if client else {}))

    def status(self):
        return self.control("status")

    def wait_for_client(self, clients=1, timeout=10):
        """Waits until `clients` clients are connected and subscribed (a query string's stream or
        a subscribe frame read): the moment to move a virtual clock. Raises ReplayError saying
        what it saw when that takes longer than `timeout` seconds."""
        until = time.monotonic() + timeout
        while True:
            status = self.status()
            if status["clients_subscribed"] >= clients:
                return status
            if time.monotonic() >= until:
                raise ReplayError(
                    f"wait_for_client: {status['clients_subscribed']} of {clients} clients "
                    f"connected and subscribed after {timeout} s "
                    f"({status['live_connections']} live connections)")
            time.sleep(0.005)

    def report(self):
        """The report on every client so far (/_mastotape/report)."""
        return self.control("report")

    # -- bots under test --------------------------------------------------------------------

    def requests(self):
        """Every request the clients made so far, in order (the journal, /_mastotape/requests):
        dicts of client, at_s, position_s, method, path, query, body (no token), status,
        matched, stub."""
        return self.control("requests")["requests"]

    def expect(self, *expectations):
        """Adds expectations, dicts as `replay --expect` reads them, e.g. {"for_each": {"event":
        "notification", "type": "mention"}, "request": {"method": "POST", "path":
        "/api/v1/statuses", "params": {"in_reply_to_id": "{status.id}"}}}; judged by
        expectations() and in stop()'s report. Raises ReplayError for one it cannot read."""
        return self.control("expectations", post=True, add=1,
                            body=json.dumps(list(expectations)).encode())

    def expectations(self):
        """The expectations judged now: dicts of name, expectation, met, checked, unmet."""
        return self.control("expectations")["expectations"]

    def set_stubs(self, stubs):
        """Replaces the stubs (a list of dicts as `replay --stub` reads them)."""
        return self.control("stubs", post=True, reload=1, body=json.dumps(stubs).encode())

    # -- the process ------------------------------------------------------------------------

    def output(self):
        """What the replayer printed so far (stdout and stderr)."""
        return _output(self._workdir)

    @property
    def pid(self):
        """The replayer's process id."""
        return self._proc.pid

    def crashed(self):
        """The exit status if the replayer ended before stop(), else None."""
        if self._final is not None:
            return None
        return self._proc.poll()

    def stop(self):
        """Stops the replayer as Ctrl-C would; the final report. Raises ReplayError if it had
        crashed or does not end cleanly."""
        if self._final is not None:
            return self._final
        code = self._proc.poll()
        if code is not None:
            raise ReplayError(self._failure("had ended before stop()", code))
        self._proc.send_signal(signal.SIGINT)
        try:
            code = self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = self._proc.wait()
            raise ReplayError(self._failure("did not stop within 30 s of SIGINT", code)) from None
        if code != 0:
            raise ReplayError(self._failure("did not stop cleanly", code))
        path = os.path.join(self._workdir.name, "report.json")
        with open(path, encoding="utf-8") as f:
            self._final = json.load(f)
        self._workdir.cleanup()
        return self._final

    def _check_running(self):
        if self._final is not None:
            raise ReplayError("the replayer is stopped")
        code = self._proc.poll()
        if code is not None:
            raise ReplayError(self._failure("had ended", code))

    def _failure(self, what, code):
        return _failure(what, code, self._workdir)


def _output(workdir):
    try:
        with open(os.path.join(workdir.name, "output"), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _failure(what, code, workdir):
    how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
    return f"mastotape replay {what} ({how}); its output:\n{_output(workdir)}"


def start_replay(tape, *, binary="mastotape", clock="virtual", speed=None, faults=(),
                 require_token=None, stubs=None, expect=None, args=()):
    """Starts `mastotape replay TAPE` on a free port of 127.0.0.1; returns its Replay once it
    listens. `stubs` and `expect` are files as `replay --stub` and `--expect` read them. Raises
    ReplayError with the replayer's output if it does not start."""
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {', '.join(CLOCKS)}")
    workdir = tempfile.TemporaryDirectory(prefix="mastotape-pytest-")
    port_file = os.path.join(workdir.name, "port")
    command = [binary, "replay", os.fspath(tape), "--port-file", port_file,
               "--report", os.path.join(workdir.name, "report.json")]
    if CLOCKS[clock]:
        command.append(CLOCKS[clock])
    if speed is not None:
        command += ["--speed", str(speed)]
    for spec in faults:
        command += ["--fault", spec]
    if stubs is not None:
        command += ["--stub", os.fspath(stubs)]
    if expect is not None:
        command += ["--expect", os.fspath(expect)]
    if require_token is not None:
        token_file = os.path.join(workdir.name, "token")
        with open(token_file, "w", encoding="utf-8") as f:
            f.write(require_token + "\n")
        command += ["--require-token-file", token_file]
    command += list(args)
    with open(os.path.join(workdir.name, "output"), "wb") as out:
        try:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        except OSError as e:
            workdir.cleanup()
            raise ReplayError(f"cannot run {binary}: {e.strerror}; put mastotape on PATH or "
                              "pass --mastotape-binary") from None
    for _ in range(1000):  # up to 10 s
        code = proc.poll()
        if code is not None:
            raise ReplayError(_failure("did not start", code, workdir))
        try:
            with open(port_file, encoding="utf-8") as f:
                text = f.read()
            if text.endswith("\n"):
                return Replay(proc, workdir, int(text))
        except OSError:
            pass
        try:
            proc.wait(timeout=0.01)
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    proc.wait()
    raise ReplayError(_failure("did not listen within 10 s", proc.returncode, workdir))
