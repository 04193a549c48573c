#!/usr/bin/python3
"""The soak campaign (issue 39): a long archive recording, as systemd would run it for months,
compressed into minutes. A session of --events events with a connection end every --disconnect-every
events is replayed at --max-speed and recorded with --rotate by size (sized for a file every
--rotate-every events), --retain-files, a large --backfill-limit and --metrics.

While it records, the recorder's RSS and open descriptors are sampled (from when it has
recorded 200,000 events: what it keeps of recent ids is full then); each file it closes is
hard-linked aside as its "closed" line appears (retention deletes the oldest later), so that the
whole recording can be checked afterwards:
  * RSS and descriptors flat: the last decile of the samples against the first (RSS by median,
    within 20%; descriptors by peak, within one waiting file's 4);
  * every closed file `verify` clean, and the files a chain: each names the next and the previous,
    the last seq before a rotation the one the next file says it continues;
  * 0 frames lost or duplicated across rotations: all files rejoined by `merge` diff equal to the
    source (timing aside: the replay ran as fast as the recorder read);
  * retention kept --retain-files closed files, the newest;
  * the metrics agree: rotations, files closed, retention deletions, events.
Prints its figures as one JSON line (for tools/docs/RELIABILITY.md) and exits 1 on a failure.

Usage: soak_campaign.py [--events 10000000] [--rotate-every 100000] [--disconnect-every 1000000]
                        [--retain-files 10] [--seed 1] [--binary build/mastotape]
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CAUSES = ["eof", "reset", "close", "close-no-code"]


def run(binary, *args):
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"mastotape {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def start_replay(binary, source, work):
    port_file = os.path.join(work, "port")
    proc = subprocess.Popen([binary, "replay", source, "--port-file", port_file, "--max-speed",
                             "--hold"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(1000):
        if os.path.exists(port_file) and open(port_file).read().endswith("\n"):
            return proc, int(open(port_file).read())
        time.sleep(0.01)
    raise RuntimeError("the replayer did not start")


# The recorder remembers this many recent ids (record/stream_tracker.hpp) to mark backfilled
# items the stream already brought: its memory grows until then by design, and is flat after.
TRACKER_IDS = 200_000


def sample(pid):
    """RSS (KiB) and open descriptors of a process; None once it has gone."""
    try:
        status = open(f"/proc/{pid}/status").read()
        return (int(re.search(r"VmRSS:\s+(\d+)", status).group(1)),
                len(os.listdir(f"/proc/{pid}/fd")))
    except (OSError, AttributeError):
        return None


class Linker(threading.Thread):
    """Follows the recorder's log; hard-links each file it says it closed into `keep`."""

    def __init__(self, log_path, keep):
        super().__init__(daemon=True)
        self.log_path = log_path
        self.keep = keep
        self.linked = []
        self.metrics_port = None
        self.done = threading.Event()

    def run(self):
        seen = 0
        while True:
            text = open(self.log_path).read() if os.path.exists(self.log_path) else ""
            for line in text.split("\n")[seen:-1]:
                seen += 1
                m = re.search(r"metrics at http://127\.0\.0\.1:(\d+)/", line)
                if m:
                    self.metrics_port = int(m.group(1))
                m = re.match(r"record: closed (\S+)$", line)
                if m:
                    target = os.path.join(self.keep, f"{len(self.linked):05d}.db")
                    os.link(m.group(1), target)
                    self.linked.append((m.group(1), target))
            if self.done.is_set() and seen == len(text.split("\n")) - 1:
                return
            time.sleep(0.005)


def metrics_of(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def decile(samples, first):
    """The median RSS and the most descriptors of the first or last tenth of `samples`: a file
    being compacted holds a dictionary's training memory and a few descriptors for a while, at
    times in one tenth more than in another, so RSS by its median, descriptors by their peak
    (a compaction runs in both tenths)."""
    n = max(1, len(samples) // 10)
    part = samples[:n] if first else samples[-n:]
    return statistics.median(s[0] for s in part), max(s[1] for s in part)


def deciles(samples, k, summary):
    """Column k of `samples` summarized over each tenth, for the figures."""
    n = max(1, len(samples) // 10)
    return [round(summary(s[k] for s in samples[i:i + n])) for i in range(0, n * 10, n)
            if samples[i:i + n]]


def settings_of(binary, db):
    out = subprocess.run(["sqlite3", "-json", db, "SELECT id, settings FROM sessions"],
                         capture_output=True, text=True, check=True).stdout
    row = json.loads(out)[0]
    return row["id"], json.loads(row["settings"])


def last_seq(db):
    return int(subprocess.run(["sqlite3", db, "SELECT max(seq) FROM frames"], capture_output=True,
                              text=True, check=True).stdout.strip() or 0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--rotate-every", type=int, default=100_000)
    p.add_argument("--disconnect-every", type=int, default=1_000_000)
    p.add_argument("--retain-files", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--binary", default="build/mastotape")
    args = p.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="mastotape-soak-") as work:
        source = os.path.join(work, "source.db")
        ends = [CAUSES[k % len(CAUSES)] for k in range(args.events // args.disconnect_every - 1)]
        started = time.monotonic()
        run(args.binary, "synth", "--db", source, "--events", str(args.events), "--rate", "5000",
            "--seed", str(args.seed), "-q",
            *(["--connection-ends", *ends] if ends else []))
        synth_s = time.monotonic() - started
        # A live file (WAL included, frames in the built-in dictionary until the session's own
        # is trained) holds about twice what a finished sample of the same session does per
        # event.
        sample_events = min(args.events, 100_000)
        compressed = os.path.join(work, "sample.db")
        run(args.binary, "synth", "--db", compressed, "--events", str(sample_events), "--rate",
            "5000", "--seed", str(args.seed), "-q")
        per_event = 2 * os.path.getsize(compressed) / sample_events
        os.remove(compressed)
        rotate_bytes = max(64 * 1024, int(per_event * args.rotate_every))

        replay, port = start_replay(args.binary, source, work)
        arch = os.path.join(work, "arch")
        keep = os.path.join(work, "closed")
        os.makedirs(keep)
        log_path = os.path.join(work, "record.log")
        linker = Linker(log_path, keep)
        linker.start()
        with open(log_path, "w") as log:
            rec = subprocess.Popen(
                [args.binary, "record", f"ws://127.0.0.1:{port}", "--db",
                 os.path.join(arch, "%Y-%m-%d.db"), "--rotate", str(rotate_bytes),
                 "--retain-files", str(args.retain_files), "--max-events", str(args.events),
                 "--backfill-limit", str(args.events), "--backoff-start", "0.02",
                 "--backoff-cap", "0.05", "--metrics", "127.0.0.1:0"],
                stdout=log, stderr=log)
        started = time.monotonic()
        # The last scrape before the recorder exits: its counters at their end. The recorder's
        # size is sampled from when it has recorded TRACKER_IDS events on (its steady state).
        last_metrics = None
        samples = []
        while rec.poll() is None:
            if linker.metrics_port:
                try:
                    last_metrics = metrics_of(linker.metrics_port)
                except OSError:
                    pass
            now = sample(rec.pid)
            if now and last_metrics and \
               last_metrics.get("mastotape_record_frames_total", 0) >= TRACKER_IDS:
                samples.append(now)
            time.sleep(0.1)
        record_s = time.monotonic() - started
        linker.done.set()
        linker.join()
        replay.send_signal(signal.SIGTERM)
        replay.wait()
        if rec.returncode != 0:
            failures.append(f"the recorder exited {rec.returncode}: {open(log_path).read()[-2000:]}")

        if len(samples) < 10:
            failures.append(f"{len(samples)} samples past {TRACKER_IDS} events: too short a run "
                            "to tell whether the recorder stays flat (--events)")
        samples = samples or [(0, 0)]
        rss_first, fds_first = decile(samples, True)
        rss_last, fds_last = decile(samples, False)
        if rss_last > rss_first * 1.2:
            failures.append(f"RSS grew: {rss_first:.0f} KiB in the first decile, "
                            f"{rss_last:.0f} KiB in the last")
        # One file more waiting to be closed when the machine is busy holds its store's 4
        # descriptors (tape, WAL, shared memory, lock); a leak grows with the rotations (there
        # are 10 to 100 between the two deciles).
        if fds_last > fds_first + 4:
            failures.append(f"descriptors grew: {fds_first} at most in the first decile, "
                            f"{fds_last} in the last")

        files = [target for _, target in linker.linked]
        rotations = len(files) - 1
        # The chain: each names the next, the next names it back with its last seq.
        for k, f in enumerate(files):
            r = subprocess.run([args.binary, "verify", "--db", f], capture_output=True, text=True)
            if r.returncode != 0:
                failures.append(f"{linker.linked[k][0]}: verify: {r.stdout.strip()}")
        for k in range(len(files) - 1):
            sid, here = settings_of(args.binary, files[k])
            _, there = settings_of(args.binary, files[k + 1])
            name_here = os.path.basename(linker.linked[k][0])
            name_there = os.path.basename(linker.linked[k + 1][0])
            if here.get("rotated_to", {}).get("file") != name_there or \
               there.get("rotated_from") != {"file": name_here, "session": sid,
                                             "seq": last_seq(files[k])}:
                failures.append(f"{name_here} and {name_there} do not name each other: "
                                f"{here.get('rotated_to')} / {there.get('rotated_from')}")
        # Rejoined, the files are the source's session (merge reads them by their names).
        named = os.path.join(work, "named")
        os.makedirs(named)
        for original, target in linker.linked:
            os.link(target, os.path.join(named, os.path.basename(original)))
        merged = os.path.join(work, "merged.db")
        started = time.monotonic()
        out = run(args.binary, "merge", *sorted(os.path.join(named, n) for n in os.listdir(named)),
                  "--db", merged).stdout
        merge_s = time.monotonic() - started
        if f"merged 1 session, skipped 0, rejoined {rotations} rotated files" not in out:
            failures.append(f"merge did not rejoin {rotations} files: {out.splitlines()[-1]}")
        diff = subprocess.run([args.binary, "diff", f"{source}:1", f"{merged}:1", "--ignore",
                               "timing", "--json"], capture_output=True, text=True)
        verdict = json.loads(diff.stdout) if diff.stdout.strip() else {}
        if diff.returncode != 0:
            failures.append(f"the rejoined recording differs from the source: {diff.stdout.strip()}")

        kept = sorted(os.listdir(arch))
        newest = sorted(os.path.basename(o) for o, _ in linker.linked[-args.retain_files:])
        if kept != newest:
            failures.append(f"retention kept {kept}, not the newest {args.retain_files}: {newest}")
        m = last_metrics or {}
        deleted = len(files) - args.retain_files
        # (The last scrape may miss the last rotations: at most a few in its last 0.2 s.)
        if not m or not 0 < m.get("mastotape_record_rotations_total", 0) <= rotations:
            failures.append(f"metrics say {m.get('mastotape_record_rotations_total')} rotations, "
                            f"the log {rotations}")
        if rotations < (args.events // args.rotate_every) // 2:
            failures.append(f"{rotations} rotations, for about {args.events // args.rotate_every}")
        figures = {
            "events": args.events, "rotations": rotations, "rotate_bytes": rotate_bytes,
            "connection_ends": len(ends), "files_kept": len(kept), "files_deleted": deleted,
            "frames_compared": verdict.get("frames"), "rss_kib_first_decile": round(rss_first),
            "rss_kib_last_decile": round(rss_last), "fds_first_decile": fds_first,
            "fds_last_decile": fds_last, "samples": len(samples), "synth_s": round(synth_s, 1),
            "record_s": round(record_s, 1), "merge_s": round(merge_s, 1),
            "events_per_s": round(args.events / record_s),
            "rss_kib_by_decile": deciles(samples, 0, statistics.median),
            "fds_by_decile": deciles(samples, 1, max),
        }
        print(json.dumps(figures))
        if failures:  # what the recorder said of its files, for the failures below
            for line in open(log_path).read().split("\n"):
                if re.search(r"rescued|failed|could not|was deleted|replaced", line):
                    print("recorder:", line)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
