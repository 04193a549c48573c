#!/usr/bin/python3
"""The crash campaign (issue 20): kill -9 of the recorder at random moments under load.

Each try replays a 20,000-event synthesized session (alternately --max-speed and --speed 5) and
records it into the same tape; the recorder is killed with SIGKILL after a random delay. After
each kill: `verify --repair` succeeds and `verify` then finds the tape clean; every frame
committed before the kill is byte-identical, in order, to the frame the source holds at that
place; and the next try records into the same tape. Lost frames are counted against what the
recorder had read: it is stopped (SIGSTOP) just before the kill, and the bytes its socket had
received less those still queued unread (`ss -ti`) say how many of the source's frames it had
read (counting the 101 head as frame bytes: an overcount by one frame at most). The README's
bound is one batch plus what was read since: 2,000 records by default.

Usage: crash_campaign.py [--tries 50] [--seed 1] [--binary build/mastotape]
Prints one line per try and a summary; exits 1 if any try failed.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

README_BOUND = 2000


def run(binary, *args, check=True):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"mastotape {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def frames_of(binary, db, session):
    """The session's frames as (kind, bytes) in seq order, from its JSONL export."""
    out = run(binary, "export", "--db", db, str(session)).stdout
    frames = []
    for line in filter(None, out.split("\n")):  # not splitlines(): frames hold U+2028
        r = json.loads(line)
        if r.get("type") == "frame":
            frames.append((r["kind"], r.get("text", r.get("base64"))))
    return frames


def start_replay(binary, source, work, speed_flags):
    port_file = os.path.join(work, "port")
    if os.path.exists(port_file):
        os.remove(port_file)
    proc = subprocess.Popen([binary, "replay", source, "--port-file", port_file, "--hold",
                             *speed_flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(port_file) and open(port_file).read().endswith("\n"):
            return proc, int(open(port_file).read())
        time.sleep(0.01)
    raise RuntimeError("the replayer did not start")


def wire_size(kind, text):
    """A server frame's bytes on the WebSocket wire (unmasked): header and payload."""
    n = len(text.encode("utf-8")) if kind != "ping" else 0
    return n + (2 if n < 126 else 4 if n < 65536 else 10)


def bytes_read(port):
    """What the client socket connected to `port` has received less what it has not read."""
    out = subprocess.run(["ss", "-tniH", "state", "established", f"( dport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    fields = out.split()
    if not fields:
        return 0
    unread = int(fields[0])
    received = next((int(f.split(":")[1]) for f in fields if f.startswith("bytes_received:")), 0)
    return received - unread


def frames_within(source_frames, nbytes):
    """How many of the source's frames `nbytes` of the stream hold."""
    k = 0
    for kind, text in source_frames:
        nbytes -= wire_size(kind, text)
        if nbytes < 0:
            break
        k += 1
    return k


def one_try(args, rng, work, source, source_frames, rec, n):
    sessions_before = 0
    if os.path.exists(rec):
        sessions_before = len(json.loads(run(args.binary, "sessions", "--db", rec,
                                             "--json").stdout))
    speed_flags = ["--max-speed"] if n % 2 == 0 else ["--speed", "5"]
    replay, port = start_replay(args.binary, source, work, speed_flags)
    try:
        recorder = subprocess.Popen([args.binary, "record", f"ws://127.0.0.1:{port}", "--db", rec,
                                     "-q"], env={**os.environ, "ACCESS_TOKEN": "campaign"},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 2.0))
        recorder.send_signal(signal.SIGSTOP)
        read = frames_within(source_frames, bytes_read(port))
        recorder.send_signal(signal.SIGKILL)
        recorder.wait()
    finally:
        replay.send_signal(signal.SIGTERM)
        replay.wait()
    problems = []
    if not os.path.exists(rec):  # killed before it made the tape
        return " ".join(speed_flags), 0, read, 0, problems
    repair = run(args.binary, "verify", "--db", rec, "--repair", check=False)
    clean = run(args.binary, "verify", "--db", rec, check=False)
    sessions = json.loads(run(args.binary, "sessions", "--db", rec, "--json").stdout)
    if repair.returncode != 0:
        problems.append(f"verify --repair exited {repair.returncode}: {repair.stdout.strip()}")
    if clean.returncode != 0:
        problems.append(f"verify after repair exited {clean.returncode}: {clean.stdout.strip()}")
    if len(sessions) == sessions_before:  # killed before its session began
        return " ".join(speed_flags), 0, read, read, problems
    session = sessions[-1]
    if len(sessions) != sessions_before + 1 or session["id"] <= sessions_before:
        problems.append(f"{len(sessions) - sessions_before} new sessions, the last {session['id']}")
    got = frames_of(args.binary, rec, session["id"])
    if got != source_frames[:len(got)]:
        at = next(i for i, (a, b) in enumerate(zip(got, source_frames)) if a != b)
        problems.append(f"frame {at + 1} differs from the source's")
    lost = max(0, read - len(got))
    if lost > README_BOUND:
        problems.append(f"{lost} frames read but not committed, over {README_BOUND}")
    return " ".join(speed_flags), len(got), read, lost, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", default="build/mastotape")
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="mastotape-crash-") as work:
        source = os.path.join(work, "source.db")
        run(args.binary, "synth", "--db", source, "--events", "20000", "--rate", "100",
            "--seed", str(args.seed), "--no-backfill", "-q")
        source_frames = frames_of(args.binary, source, 1)
        rec = os.path.join(work, "rec.db")
        failures, worst = 0, 0
        for n in range(args.tries):
            speed, committed, read, lost, problems = one_try(
                args, rng, work, source, source_frames, rec, n)
            worst = max(worst, lost)
            failures += 1 if problems else 0
            print(f"try {n + 1:3}: {speed:12} read {read:6}, committed {committed:6}, "
                  f"lost {lost:5}  {'; '.join(problems) or 'ok'}", flush=True)
        print(f"{args.tries} tries, {failures} failed; at most {worst} frames read and lost in "
              f"one try (bound {README_BOUND}); seed {args.seed}")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
