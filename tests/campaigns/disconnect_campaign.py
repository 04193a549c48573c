#!/usr/bin/python3
"""The disconnect campaign (issue 20): a 20,000-event session with 200 connection ends
(eof, reset, close with a code, close without one; a failed handshake and 3 events published in
each gap), replayed at --max-speed or --speed N and recorded with backfill. Every (event, id) the
source made available, streamed or backfilled, must be in the recording, streamed or backfilled,
unless the source deleted it later. Prints the count per event type and exits 1 if anything is
missing. The replayer's REST rate limit is lifted (--rate-limit): with Mastodon's 300 requests per
5 minutes the recorder rightly waits for the window, which would make a run take hours.

With --exit-when-done the replayer is left to exit by itself once the recorder's last stream
has ended and its REST requests have stopped, instead of being stopped after the recording.

Usage: disconnect_campaign.py [--speed max|N] [--events 20000] [--ends 200] [--seed 1]
                              [--exit-when-done] [--all-causes] [--binary build/mastotape]
"""
import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

CAUSES = ["eof", "reset", "close", "close-no-code"]
# With --all-causes: also silence past the heartbeat timeout (the recorder's watchdog must end
# the connection) and a network error (the replayer ends it as a plain TCP end).
MORE_CAUSES = ["heartbeat-timeout", "network-error"]


def export_items(binary, db):
    """(event type -> ids) the session holds, streamed or backfilled, and the deleted ids."""
    out = subprocess.run([binary, "export", "--db", db], capture_output=True, text=True,
                         check=True).stdout
    items = collections.defaultdict(set)
    for line in filter(None, out.split("\n")):  # not splitlines(): frames hold U+2028
        r = json.loads(line)
        if r.get("type") == "frame" and r.get("kind") == "event" and r.get("id"):
            items[r["event"]].add(r["id"])
        elif r.get("type") == "backfill" and r.get("id"):
            endpoint = r.get("endpoint", "")
            event = ("notification" if "notifications" in endpoint else
                     "conversation" if "conversations" in endpoint else "update")
            items[event].add(r["id"])
    return items


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", default="max")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--ends", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exit-when-done", action="store_true")
    parser.add_argument("--all-causes", action="store_true")
    parser.add_argument("--binary", default="build/mastotape")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    causes = CAUSES + (MORE_CAUSES if args.all_causes else [])
    ends = [causes[i % len(causes)] for i in range(args.ends)]
    speed = ["--max-speed"] if args.speed == "max" else ["--speed", args.speed]
    keep = os.environ.get("MASTOTAPE_CAMPAIGN_KEEP")  # a directory to leave the tapes in
    with tempfile.TemporaryDirectory(prefix="mastotape-disconnect-") as tmp:
        work = keep or tmp
        source, rec = os.path.join(work, "source.db"), os.path.join(work, "rec.db")
        subprocess.run([binary, "synth", "--db", source, "--events", str(args.events),
                        "--rate", "200", "--seed", str(args.seed), "--connection-ends", *ends,
                        "-q"], check=True)
        port_file = os.path.join(work, "port")
        exit_when_done = ["--exit-when-done"] if args.exit_when_done else []
        replay = subprocess.Popen([binary, "replay", source, *speed, *exit_when_done,
                                   "--rate-limit", "1000000", "--port-file", port_file],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (os.path.exists(port_file) and open(port_file).read().endswith("\n")):
            time.sleep(0.01)
        log = os.path.join(work, "rec.log")
        with open(log, "w") as out:
            recorder = subprocess.Popen(
                [binary, "record", f"ws://127.0.0.1:{int(open(port_file).read())}", "--db", rec,
                 "--backoff-start", "0.02", "--backoff-cap", "0.1", "--json-log",
                 *(["--heartbeat-timeout", "2"] if args.all_causes else [])],
                env={**os.environ, "ACCESS_TOKEN": "campaign"}, stdout=out, stderr=out)
        # Every gap's backfill ends (ok, partial or failed), then the recording is stopped.
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            if open(log).read().count(" backfill ") >= len(ends):
                break
            if args.exit_when_done and replay.poll() is not None:
                break  # it left by itself: what the recording has now is what it got
            time.sleep(0.2)
        if args.exit_when_done:
            replay.wait(timeout=60)
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
        replay.send_signal(signal.SIGTERM)
        replay.wait()
        source_items, recorded = export_items(binary, source), export_items(binary, rec)
        deleted = source_items.get("delete", set())
        missing_total = 0
        for event in sorted(source_items):
            missing = source_items[event] - recorded.get(event, set()) - deleted
            missing_total += len(missing)
            print(f"{event:22} {len(source_items[event]):6} available, {len(missing):4} missing"
                  + (f": {' '.join(sorted(missing)[:5])}" if missing else ""))
        text = open(log).read()
        print(f"{text.count(' ended: ')} connection ends at {' '.join(speed)}; backfills: "
              f"{text.count(' backfill ok')} ok, {text.count(' backfill partial')} partial, "
              f"{text.count(' backfill failed')} failed; {missing_total} items missing")
        return 1 if missing_total else 0


if __name__ == "__main__":
    sys.exit(main())
