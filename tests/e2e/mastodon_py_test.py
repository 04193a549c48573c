#!/usr/bin/python3
"""Mastodon.py 1.8.0 (Debian's python3-mastodon) against the replayer.

Usage: mastodon_py_test.py MASTOTAPE_BINARY FIXTURES_DIR

Checks instance discovery (Mastodon.py asks /api/v1/instance/ with the trailing slash),
stream_healthy(), and the exact events an SSE hashtag stream delivers, against what the fixture
holds. Against a 4.6+ server Mastodon.py's SSE reader dies at the first `:thump\\n\\n`; the replay
must reproduce that, and --legacy-thump must let the whole tape through.
"""
import json
import subprocess
import sys

from mastodon import Mastodon, StreamListener
from mastodon.errors import MastodonMalformedEventError

binary, fixtures = sys.argv[1], sys.argv[2]
fixture = fixtures + "/hashtag-sse.jsonl"

# What the fixture holds: its events in order, as (event, id), and the offset of the first thump.
expected = []
first_thump = None
first_event_offset = None
for line in open(fixture, encoding="utf-8"):
    record = json.loads(line)
    if record.get("type") != "frame":
        continue
    if record["kind"] == "event":
        expected.append((record["event"], record["id"]))
        if first_event_offset is None:
            first_event_offset = record["offset_ns"]
    elif record["kind"] == "comment" and record["text"].startswith(":thump") and first_thump is None:
        first_thump = record["offset_ns"]
before_thump = []
for line in open(fixture, encoding="utf-8"):
    record = json.loads(line)
    if record.get("type") == "frame" and record["kind"] == "event" and record["offset_ns"] < first_thump:
        before_thump.append((record["event"], record["id"]))


class Collect(StreamListener):
    def __init__(self):
        self.got = []

    def on_update(self, status):
        self.got.append(("update", str(status["id"])))

    def on_status_update(self, status):
        self.got.append(("status.update", str(status["id"])))

    def on_delete(self, status_id):
        self.got.append(("delete", str(status_id)))


def replay(*flags):
    proc = subprocess.Popen([binary, "replay", fixture, "--speed", "50", *flags],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening ws://"), line
    return proc, "http://" + line.split("ws://", 1)[1].strip()


failures = 0
passes = 0


def check(ok, what):
    global failures, passes
    print(("ok   " if ok else "FAIL ") + what)
    if ok:
        passes += 1
    else:
        failures += 1


proc, base = replay()
try:
    api = Mastodon(access_token="any-token", api_base_url=base)
    check(api.stream_healthy(), "stream_healthy() is true")
    listener = Collect()
    died = None
    try:
        api.stream_hashtag("rust", listener, run_async=False, reconnect_async=False)
    except MastodonMalformedEventError as e:
        died = e
    check(died is not None, "the SSE reader dies at the first :thump as against a 4.6+ server")
    check(listener.got == before_thump,
          f"events before the first thump arrive exactly ({len(listener.got)} of {len(before_thump)})")
finally:
    proc.terminate()
    proc.wait()

proc, base = replay("--legacy-thump")
try:
    api = Mastodon(access_token="any-token", api_base_url=base)
    listener = Collect()
    api.stream_hashtag("rust", listener, run_async=False, reconnect_async=False)
    check(listener.got == expected,
          f"with --legacy-thump every event arrives, in order ({len(listener.got)} of {len(expected)})")
finally:
    proc.terminate()
    proc.wait()

print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
