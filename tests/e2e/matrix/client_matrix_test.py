"""The user-path matrix (issue 35): one real client library against the replayer at each clock,
always with --exit-when-done, on a tape with disconnects (fixtures/user-gaps.jsonl: a dropped
connection and a recorded silence, each followed by a gap). For each case: every event the client
could receive arrives, in order; the replayer exits by itself within the grace after the client
left; its exit code is the report's verdict (--fail-on-missed). At --max-speed the case runs five
times in a row and the five reports must be byte-identical.

Usage: client_matrix_test.py MASTOTAPE FIXTURES_DIR MASTO_DIR WSCAT CLIENT
CLIENT: masto, mastodon_py, websockets, wscat, record."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ beside the sources: tests write to scratch only
from clients import event_id  # pylint: disable=wrong-import-position

binary, fixtures, masto_dir, wscat, client = [os.path.abspath(a) for a in sys.argv[1:5]] + [sys.argv[5]]
here = os.path.dirname(os.path.abspath(__file__))
scratch = tempfile.mkdtemp(prefix="mastotape-matrix-")
GRACE = 2.0      # --exit-grace, its default: longer than each client's reconnect delay
SILENCE = 0.5    # --silence
QUIET = 8.0      # a client leaves after this long without an event (> the silence at --speed 20)
passes = failures = 0


def check(ok, what):
    global passes, failures
    if ok:
        passes += 1
    else:
        failures += 1
        print(f"FAILED: {what}", flush=True)


def recorded_events(fixture, connection=None):
    out = []
    for line in open(os.path.join(fixtures, fixture), encoding="utf-8"):
        r = json.loads(line)
        if r.get("type") == "frame" and r["kind"] == "event" and (
                connection is None or r["conn"] == connection):
            envelope = json.loads(r["text"])
            out.append(event_id(envelope["event"], envelope.get("payload")))
    return out


def start_replay(fixture, clock, report, extra=()):
    args = [binary, "replay", os.path.join(fixtures, fixture), *clock, "--exit-when-done",
            "--exit-grace", str(GRACE), "--silence", str(SILENCE), "--timeout", "120",
            "--report", report, "--fail-on-missed", *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening ws://"), line
    return proc, line.split()[1]


def run_client(url, want, stream="user", workdir=None):
    """Runs the client to its end; the events it printed, in order."""
    if client == "masto":
        out = subprocess.run(["node", os.path.join(masto_dir, "count_events.mjs"), url, str(want),
                              str(int(QUIET * 1000)), stream], cwd=masto_dir, capture_output=True,
                             text=True, timeout=180, check=False).stdout
        return json.loads(out or "[]")
    if client in ("websockets", "mastodon_py"):
        out = subprocess.run(["/usr/bin/python3", os.path.join(here, "clients.py"), client, url,
                              str(want), str(QUIET), stream], capture_output=True, text=True,
                             timeout=180, check=False).stdout
        return [line for line in out.split("\n") if line]
    if client == "wscat":  # one connection, as a shell user runs it; it ends when the server ends it
        # Its stdin held open (at its end wscat stops), as in a terminal.
        proc = subprocess.Popen([wscat, "--no-color", "-c",
                                 f"{url}/api/v1/streaming?stream={stream}"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        out = proc.stdout.read()
        proc.stdin.close()
        proc.wait(timeout=30)
        got = []
        for line in out.split("\n"):
            text = line[2:] if line.startswith("< ") else line
            if text.startswith("{") and '"event"' in text:
                frame = json.loads(text)
                got.append(event_id(frame["event"], frame.get("payload")))
        return got
    if client == "record":
        db = os.path.join(workdir, "recorded.db")
        subprocess.run([binary, "record", url, "--db", db, "--stream", stream, "--max-events",
                        str(want), "--backoff-start", "0.01", "--backoff-cap", "0.04", "--seed", "1",
                        "--heartbeat-timeout", "3", "--duration", "120"],
                       env={**os.environ, "ACCESS_TOKEN": "matrix-token"}, capture_output=True,
                       timeout=180, check=False)
        exported = subprocess.run([binary, "export", "--db", db], capture_output=True, text=True,
                                  check=False).stdout
        got = []
        for line in filter(None, exported.split("\n")):  # not splitlines: U+2028 is text
            r = json.loads(line)
            if r.get("type") == "frame" and r["kind"] == "event":
                envelope = json.loads(r["text"])
                got.append(event_id(envelope["event"], envelope.get("payload")))
        return got
    raise SystemExit(f"unknown client {client}")


def one_case(name, fixture, clock, expected, stream="user", driver=None):
    """One run; the report's bytes (or None when the run failed to give one). At a real-time clock
    a client that came back later than the recording did has lost what was streamed meanwhile, as
    from a real server: what it got and what the report says it missed while away must then be
    the recorded events exactly, and the missed ones each later than its connection's recorded
    start (the stream's part of what it lost, not a gap's)."""
    work = tempfile.mkdtemp(dir=scratch)
    report = os.path.join(work, "report.json")
    extra = ["--legacy-thump"] if client == "mastodon_py" else []
    proc, url = start_replay(fixture, clock, report, extra)
    if driver:
        driver(url.replace("ws://", "http://"))
    got = run_client(url, len(expected), stream, work)
    left = time.monotonic()
    try:
        code = proc.wait(timeout=GRACE + 10)
    except subprocess.TimeoutExpired:
        try:
            with urllib.request.urlopen(url.replace("ws://", "http://") + "/_mastotape/status",
                                        timeout=5) as r:
                status = r.read().decode()
        except OSError as e:
            status = str(e)
        proc.kill()
        proc.wait()
        check(False, f"{name}: the replayer did not exit after the client left; its status: "
                     f"{status[:2000]}")
        return None
    took = time.monotonic() - left
    output = proc.stdout.read()
    check(took <= GRACE + 3, f"{name}: the replayer exited {took:.1f} s after the client left")
    try:
        text = open(report, encoding="utf-8").read()
        verdict = json.loads(text)
    except (OSError, ValueError):
        check(False, f"{name}: no report ({output})")
        return None
    if "--max-speed" not in clock and "--virtual-clock" not in clock:
        lost = lost_while_away(verdict, fixture, set(expected))
        # The delete of a status it never had is no loss (the report does not count it), got or not.
        moot = {e for e in expected if e.startswith("delete ") and "update " + e[7:] in lost}
        expected = [e for e in expected if e not in lost | moot]
        got = [e for e in got if e not in moot]
    check(got == expected, f"{name}: {len(got)} of the {len(expected)} events in order "
                           f"(first difference at {next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))})")
    missed = sum(c["items"]["missed"] for c in verdict["clients"])
    check(code == (1 if missed else 0), f"{name}: exit {code} with {missed} items missed")
    print(f"ok {name}: {len(got)} events, exit {code} ({missed} missed) {took:.1f} s after the "
          f"client left", flush=True)
    return text


def lost_while_away(verdict, fixture, recorded):
    """The recorded stream events the report says the client missed while away; each must come
    after its connection's recorded handshake (else the replayer lost it, not the client)."""
    ups = {}
    for line in open(os.path.join(fixtures, fixture), encoding="utf-8"):
        r = json.loads(line)
        if r.get("type") == "connection" and r.get("handshake_offset_ns") is not None:
            ups[r["idx"]] = r["handshake_offset_ns"]
    lost = set()
    for c in verdict["clients"]:
        for m in c["missed"]:
            key = event_id(m["event"], {"id": m["id"]}) if m["event"] != "delete" else \
                f"delete {m['id']}"
            if key in recorded:
                check("while away" in m["where"], f"lost {key} while connected: {m}")
                check(any(up <= m["offset_ns"] for up in list(ups.values())[1:]),
                      f"lost {key} before the first reconnection: {m}")
                lost.add(key)
    return lost


def virtual_driver(http_url):
    """Moves the virtual clock once the client is connected and subscribed, 10 s at a time, until
    the replayer has gone (it exits once the client left)."""
    import threading  # pylint: disable=import-outside-toplevel

    def status():
        with urllib.request.urlopen(http_url + "/_mastotape/status", timeout=5) as r:
            return json.loads(r.read())

    def drive():
        try:
            until = time.monotonic() + 60
            while status()["clients_subscribed"] < 1 and time.monotonic() < until:
                time.sleep(0.02)
            for _ in range(30):
                urllib.request.urlopen(urllib.request.Request(
                    http_url + "/_mastotape/clock/advance?ms=10000", data=b"", method="POST"),
                    timeout=5)
                time.sleep(0.05)
        except OSError:
            pass  # the replayer exited: the client is done

    threading.Thread(target=drive, daemon=True).start()


try:
    everything = recorded_events("user-gaps.jsonl")
    # wscat holds one connection: the first recorded connection's events are what it can get.
    expected = recorded_events("user-gaps.jsonl", 0) if client == "wscat" else everything
    one_case(f"{client} at --speed 20", "user-gaps.jsonl", ["--speed", "20"], expected)
    reports = [one_case(f"{client} at --max-speed, run {i + 1}", "user-gaps.jsonl",
                        ["--max-speed"], expected) for i in range(5)]
    same = None not in reports and len(set(reports)) == 1
    check(same, f"{client}: the five --max-speed reports are byte-identical "
                f"({len(set(r for r in reports if r))} different)")
    if not same and None not in reports:
        import difflib  # pylint: disable=import-outside-toplevel
        other = next(r for r in reports if r != reports[0])
        pretty = [json.dumps(json.loads(r), indent=1).split("\n") for r in (reports[0], other)]
        print("\n".join(list(difflib.unified_diff(*pretty, lineterm="", n=1))[:40]))
    if client in ("masto", "websockets"):
        one_case(f"{client} on a virtual clock", "direct.jsonl", ["--virtual-clock"],
                 recorded_events("direct.jsonl"), stream="direct", driver=virtual_driver)
finally:
    shutil.rmtree(scratch, ignore_errors=True)
print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
