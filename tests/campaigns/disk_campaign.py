#!/usr/bin/python3
"""The disk campaign (issue 20), as root: recordings onto a tmpfs of a random size (the disk
fills at a random point of a --max-speed replay), onto read-only media, and into a tape that is replaced or deleted under a running recorder. After each: the
recorder ended with exit 1 and one line naming the problem (or, for a replaced tape, says so),
the tape left behind verifies (after `verify --repair` once there is room again) and every frame
it holds is byte-identical to the source's. Also `synth` and `import` onto a full disk: an error,
nothing partial. Prints a row per kind; exits 1 on any failure. Needs root (mount -t tmpfs).

Usage: disk_campaign.py [--tries 10] [--events 20000] [--seed 1] [--binary build/mastotape]
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def frames(binary, db):
    """seq -> (kind, text or base64) of session 1's frames, from `export`."""
    out = sh(binary, "export", "1", "--db", db).stdout
    got = {}
    for line in filter(None, out.split("\n")):
        r = json.loads(line)
        if r.get("type") == "frame":
            got[r["seq"]] = (r["kind"], r.get("text", r.get("base64")))
    return got


class Replay:
    def __init__(self, binary, source, work):
        port_file = os.path.join(work, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.proc = subprocess.Popen([binary, "replay", source, "--max-speed", "--hold",
                                      "--port-file", port_file],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (os.path.exists(port_file) and open(port_file).read().endswith("\n")):
            time.sleep(0.01)
        self.url = f"ws://127.0.0.1:{int(open(port_file).read())}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()


def record(binary, url, db, seconds=8):
    return subprocess.Popen([binary, "record", url, "--db", db, "--duration", str(seconds)],
                            env={**os.environ, "ACCESS_TOKEN": "disk-campaign"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def check_tape(binary, db, source_frames):
    """Problems with what a failed recording left: it verifies (repaired) and its frames are the
    source's, byte for byte."""
    v = sh(binary, "verify", "--repair", "--db", db, check=False)
    if v.returncode not in (0,):
        return "verify --repair: " + (v.stdout + v.stderr).strip().splitlines()[-1]
    got = frames(binary, db)
    bad = [s for s, f in got.items() if source_frames.get(s) != f]
    return f"{len(bad)} frames differ from the source" if bad else None


def one_line_error(p, what):
    out, err = p.communicate(timeout=120)
    lines = [l for l in err.splitlines() if l.strip() and "\r" not in l]
    if p.returncode != 1:
        return f"exit {p.returncode}, not 1"
    if not any(what in l for l in lines):
        return f"no line saying {what!r}: {lines[-3:]}"
    return None


def full_disk(binary, source, source_frames, work, rng):
    mnt = tempfile.mkdtemp(dir=work)
    size_kb = rng.randint(256, 2048)
    sh("mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", mnt)
    try:
        replay = Replay(binary, source, work)
        db = os.path.join(mnt, "t.db")
        p = record(binary, replay.url, db)
        problem = one_line_error(p, "disk")
        replay.stop()
        if problem is None and os.path.exists(db):
            sh("mount", "-o", f"remount,size={size_kb + 65536}k", mnt)  # room to repair
            problem = check_tape(binary, db, source_frames)
        return problem, f"{size_kb} KB"
    finally:
        sh("umount", mnt)


def read_only(binary, source, source_frames, work, rng):
    """A tape on read-only media: recording into it fails at once in one line and changes
    nothing; reading it (export, replay) works. (A tmpfs with a writer open on it cannot be
    remounted read-only: the kernel refuses while files are open for writing.)"""
    mnt = tempfile.mkdtemp(dir=work)
    sh("mount", "-t", "tmpfs", "-o", "size=200m", "tmpfs", mnt)
    try:
        db = os.path.join(mnt, "t.db")
        shutil.copy(source, db)
        before = open(db, "rb").read()
        sh("mount", "-o", "remount,ro", mnt)
        replay = Replay(binary, source, work)
        problem = one_line_error(record(binary, replay.url, db), "read-only")
        replay.stop()
        if problem is None and open(db, "rb").read() != before:
            problem = "the tape changed"
        if problem is None and frames(binary, db) != source_frames:
            problem = "export from read-only media differs"
        return problem, ""
    finally:
        sh("umount", mnt)


def replaced(binary, source, source_frames, work, rng, how):
    """A tape replaced (another tape moved over it) or deleted under a running recorder: the
    recorder stops with exit 1 and one line, everything it recorded is saved beside the path
    (`t.rescued-PID.db`: it verifies, its frames are the source's), no WAL of its own is left
    beside the path, and a tape moved there is unchanged."""
    d = tempfile.mkdtemp(dir=work)
    db = os.path.join(d, "t.db")
    replay = Replay(binary, source, work)
    p = record(binary, replay.url, db)
    time.sleep(rng.uniform(0.3, 1.5))
    other_frames = None
    if how == "replaced":
        other = os.path.join(d, "other.db")
        sh(binary, "synth", "--db", other, "--events", "10", "-q")
        other_frames = frames(binary, other)
        os.replace(other, db)
    else:
        os.remove(db)
    try:
        out, err = p.communicate(timeout=60)
        code = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        code = "hung"
    replay.stop()
    said = [l for l in err.splitlines() if how in l or "replaced" in l or "deleted" in l
            or "gone" in l]
    if code != 1 or not said:
        return f"exit {code}; said {err.strip().splitlines()[-2:]}", ""
    rescued = os.path.join(d, f"t.rescued-{p.pid}.db")
    if not os.path.exists(rescued):
        return f"no {os.path.basename(rescued)}; said {said[0][:120]}", ""
    problem = check_tape(binary, rescued, source_frames)
    if problem is None and not frames(binary, rescued):
        problem = "the rescued tape has no frames"
    if problem is None and (os.path.exists(db + "-wal") or os.path.exists(db + "-shm")):
        problem = "the recorder's WAL was left beside the path"
    if problem is None and how == "replaced" and frames(binary, db) != other_frames:
        problem = "the tape moved over the path changed"
    if problem is None and how == "deleted" and os.path.exists(db):
        problem = "a file came back at the deleted path"
    return problem, said[0][:80]


def tools_on_full_disk(binary, work):
    mnt = tempfile.mkdtemp(dir=work)
    sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt)
    try:
        problems = []
        for args in (["synth", "--events", "20000", "-q"],):
            r = sh(binary, *args, "--db", os.path.join(mnt, "new.db"), check=False)
            if r.returncode != 1 or len(r.stderr.strip().splitlines()) != 1:
                problems.append(f"{args[0]}: exit {r.returncode}, said {r.stderr.strip()!r}")
            left = os.listdir(mnt)
            if left:
                problems.append(f"{args[0]}: left {left}")
        return "; ".join(problems) or None, ""
    finally:
        sh("umount", mnt)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", default="build/mastotape")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("disk campaign: needs root (mount -t tmpfs)")
        return 2
    binary = os.path.abspath(args.binary)
    rng = random.Random(args.seed)
    failures = []
    with tempfile.TemporaryDirectory(prefix="mastotape-disk-") as work:
        source = os.path.join(work, "source.db")
        sh(binary, "synth", "--db", source, "--events", str(args.events), "--rate", "200",
           "--connection-ends", "eof", "reset", "-q")
        source_frames = frames(binary, source)
        kinds = [("full disk", lambda: full_disk(binary, source, source_frames, work, rng)),
                 ("read-only media", lambda: read_only(binary, source, source_frames, work, rng)),
                 ("tape replaced", lambda: replaced(binary, source, source_frames, work, rng,
                                                    "replaced")),
                 ("tape deleted", lambda: replaced(binary, source, source_frames, work, rng,
                                                   "deleted")),
                 ("synth onto a full disk", lambda: tools_on_full_disk(binary, work))]
        for name, run in kinds:
            tries = 1 if name.startswith("synth") else args.tries
            failed = 0
            notes = set()
            for _ in range(tries):
                problem, note = run()
                notes.add(note)
                if problem:
                    failed += 1
                    failures.append(f"{name}: {problem}")
            print(f"{name:24} {tries:3} tries, {failed} failed  {sorted(n for n in notes if n)[:3]}")
    for f in failures[:20]:
        print("FAILED:", f)
    print("disk campaign:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
