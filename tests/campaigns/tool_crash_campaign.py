#!/usr/bin/python3
"""The crash campaign for the tools that write whole sessions (issue 20): `synth`, `import`,
`cut`, `redact` and `compact`, each killed with SIGKILL at a random moment of its run, into an
existing tape and into a new file. After each kill the tape verifies clean and holds the session
whole or not at all (its counts equal a run that finished), a new file is either absent or
complete, and the same command run again succeeds and removes what the killed one left beside
the target. Exits 1 on any failure or leftover.

Usage: tool_crash_campaign.py [--tries 10] [--events 100000] [--seed 1] [--binary build/mastotape]
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def run(binary, *args, check=True):
    return subprocess.run([binary, *args], capture_output=True, text=True, check=check)


def sessions(binary, db):
    """(id, frames, events, gaps, backfilled) of each session, from `sessions --json`."""
    import json
    out = run(binary, "sessions", "--db", db, "--json").stdout
    return [(s["id"], s["frames"], s["events"], s["gaps"], s["backfilled"]) for s in json.loads(out)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=10, help="kills per command")
    parser.add_argument("--events", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", default="build/mastotape")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    rng = random.Random(args.seed)
    failures = []
    with tempfile.TemporaryDirectory(prefix="mastotape-toolcrash-") as work:
        base = os.path.join(work, "base.db")
        run(binary, "synth", "--db", base, "--events", str(args.events), "--rate", "50",
            "--connection-ends", "eof", "reset", "close", "-q")
        jsonl = os.path.join(work, "base.jsonl")
        run(binary, "export", "--db", base, "-o", jsonl)
        # Each command, writing into TARGET (an existing copy of base, or a new file).
        commands = {
            "synth into a tape": (True, ["synth", "--events", str(args.events), "-q"]),
            "synth into a new file": (False, ["synth", "--events", str(args.events), "-q"]),
            "import": (True, ["import", jsonl]),
            "cut": (True, ["cut", "1", "--from", "0", "--to", "100000"]),
            "redact": (True, ["redact", "1"]),
            "compact": (None, ["compact"]),
        }
        print(f"{'command':24} {'tries':>5} {'killed':>6} {'whole':>6} {'absent':>6} "
              f"{'failed':>6}  leftovers")
        for name, (existing, argv) in commands.items():
            # A finished run, to know what a whole result is, and how long one takes.
            ref_dir = tempfile.mkdtemp(dir=work)
            target = os.path.join(ref_dir, "t.db")
            if existing is not False:
                shutil.copy(base, target)
            cmd = ([binary, *argv, os.path.join(ref_dir, "out.db"), "--db", target]
                   if existing is None else [binary, *argv, "--db", target])
            started = time.monotonic()
            subprocess.run(cmd, check=True, capture_output=True)
            took = time.monotonic() - started
            whole = sessions(binary, os.path.join(ref_dir, "out.db") if existing is None else target)
            counts = {"killed": 0, "whole": 0, "absent": 0, "failed": 0}
            leftovers = set()
            for _ in range(args.tries):
                d = tempfile.mkdtemp(dir=work)
                target = os.path.join(d, "t.db")
                out = os.path.join(d, "out.db")
                if existing is not False:
                    shutil.copy(base, target)
                before = sessions(binary, target) if existing is not False else []
                cmd = ([binary, *argv, out, "--db", target] if existing is None
                       else [binary, *argv, "--db", target])
                p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0, took))
                if p.poll() is None:
                    p.kill()
                    counts["killed"] += 1
                p.wait()
                result = out if existing is None else target
                problem = None
                if os.path.exists(result):
                    v = run(binary, "verify", "--db", result, check=False)
                    now = sessions(binary, result)
                    if v.returncode != 0:
                        problem = "verify: " + (v.stdout + v.stderr).strip().splitlines()[-1]
                    elif now == (whole if existing is None else before):
                        counts["absent" if existing is not None else "whole"] += 1
                    elif existing is not None and now[:-1] == before and \
                            now[-1][1:] == whole[-1][1:]:
                        counts["whole"] += 1
                    elif existing is False and now and now[0][1:] == whole[0][1:]:
                        counts["whole"] += 1
                    else:
                        problem = f"a partial session: {now[-1:]} against {whole[-1:]}"
                else:
                    counts["absent"] += 1
                    if existing:
                        problem = "the tape is gone"
                # The command again, to the end (into a fresh name where a whole result is).
                if problem is None:
                    again = list(cmd)
                    if existing is not True and os.path.exists(result):
                        again[again.index(result)] = result + "2"
                    rerun = subprocess.run(again, capture_output=True, text=True)
                    if rerun.returncode != 0:
                        problem = "run again: " + rerun.stderr.strip()
                # What the killed run left beside the target, which the next run removes: nothing
                # but tapes (and their WAL) should remain.
                for f in os.listdir(d):
                    if not f.endswith((".db", ".db-wal", ".db-shm", ".db2", ".db2-wal", ".db2-shm")):
                        leftovers.add(f)
                if problem:
                    counts["failed"] += 1
                    failures.append(f"{name}: {problem}")
                shutil.rmtree(d)
            print(f"{name:24} {args.tries:5} {counts['killed']:6} {counts['whole']:6} "
                  f"{counts['absent']:6} {counts['failed']:6}  {' '.join(sorted(leftovers)) or '-'}")
            if leftovers:
                failures.append(f"{name}: left behind {' '.join(sorted(leftovers))}")
    for f in failures:
        print("FAILED:", f)
    print("tool crash campaign:", "FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
