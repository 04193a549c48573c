#!/usr/bin/python3
"""What Mastodon.py 1.8.0 (Debian's python3-mastodon) does after a drop, as `replay --report`
tells it.

Usage: mastodon_py_report_test.py MASTOTAPE_BINARY FIXTURES_DIR

The user-gaps fixture over SSE (stream_user with reconnect_async), with an extra drop after the
5th event. Mastodon.py reconnects at once after a stream ends and waits reconnect_async_wait_sec
after each refused attempt (20 s of tape at --speed 20: it comes back later than the recording did
and loses what the stream carried meanwhile, as from a real server), but never asks REST for what
it missed, and its read timeout (300 s by default) outlasts the recorded 75 s silence.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from mastodon import Mastodon, StreamListener

binary, fixtures = sys.argv[1], sys.argv[2]
fixture = fixtures + "/user-gaps.jsonl"

# The items only the recording's backfill has: published while its connection was down.
backfilled_only = set()
for line in open(fixture, encoding="utf-8"):
    record = json.loads(line)
    if record.get("type") == "backfill" and not record["already_streamed"]:
        event = "notification" if record["endpoint"] == "/api/v1/notifications" else "update"
        backfilled_only.add((event, record["id"]))

# The report is read live from /_mastotape/report; the file goes to a scratch folder (never a
# device: a report replaces a regular file whole).
scratch = tempfile.mkdtemp(prefix="mastotape-pyreport-")
report_file = os.path.join(scratch, "report.json")
proc = subprocess.Popen([binary, "replay", fixture, "--speed", "20", "--legacy-thump",
                         "--fault", "drop-after=5", "--report", report_file],
                        stdout=subprocess.PIPE, text=True)
line = proc.stdout.readline()
assert line.startswith("listening ws://"), line
base = "http://" + line.split("ws://", 1)[1].strip()


def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


failures = 0
passes = 0


def check(ok, what):
    global failures, passes
    print(("ok   " if ok else "FAIL ") + what)
    if ok:
        passes += 1
    else:
        failures += 1


try:
    api = Mastodon(access_token="mastodon-py-token", api_base_url=base)
    handle = api.stream_user(StreamListener(), run_async=True, reconnect_async=True,
                             reconnect_async_wait_sec=1)
    deadline = time.monotonic() + 60
    finished = False
    while not finished and time.monotonic() < deadline:
        time.sleep(0.2)
        finished = any(c["finished"] for c in get("/_mastotape/status")["clients"])
    report = get("/_mastotape/report")
    handle.close()
finally:
    proc.terminate()
    proc.wait()

client = report["clients"][0]
print(client["verdict"])
for f in client["findings"]:
    print(f"  {f['reason']}: {f['advice']}")
check(finished, "Mastodon.py played the tape to its end")
ends = [c["ended_by"] for c in client["connections"]]
check(ends == ["fault", "tape", "tape", "tape"],
      f"it reconnected after the fault's drop and after each recorded end ({ends})")
check(client["connections"][1]["reconnect_delay_s"] < 0.9,
      "sooner than its 1 s wait after the drop: it tries once at once")
refused = [c["refused_before"] for c in client["connections"][2:]]
check(all(n >= 1 for n in refused), f"and was refused in the recorded gaps ({refused})")
check(client["rest_requests"] == [], "it asked REST for nothing")
missed = {(m["event"], m["id"]) for m in client["missed"]}
check(len(backfilled_only) == 6 and backfilled_only <= missed,
      f"it missed every item published while the recording was away ({len(backfilled_only)})")
reasons = {f["reason"] for f in client["findings"]}
check(reasons == {"never asked over REST", "a delete comes only on the stream"},
      f"each missed item: never asked over REST, or a delete only the stream had ({reasons})")
ups = [json.loads(line)["handshake_offset_ns"] for line in open(fixture, encoding="utf-8")
       if json.loads(line).get("type") == "connection" and json.loads(line)["http_status"] == 101]
late = [m for m in client["missed"] if (m["event"], m["id"]) not in backfilled_only]
check(late and all("while away" in m["where"] and m["offset_ns"] > min(ups[1:]) for m in late),
      f"and what the stream carried after the recorded reconnects, before its own ({len(late)})")
check(client["connections"][2]["silence_noticed_after_s"] is None,
      "it never noticed the recorded silence: its read timeout is 300 s")
shutil.rmtree(scratch, ignore_errors=True)
print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
