#!/usr/bin/python3
"""A Mastodon.py reply bot under test: replayed a tape of notifications with a reset, a gap and a
backfill, it must reply to every mention on the tape, the one the stream carried and the one only
the catch-up brings; the same bot with a planted bug (it ignores what the catch-up brings) must
miss exactly the backfilled mention. What the bot did is read from the replayer's request journal
(/_mastotape/requests), which must never show its token. Each run twice: the same answers.

Usage: bot_test.py MASTOTAPE_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request

binary = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
token = "bot-token-0123456789abcdefghij"

failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures += 1


def mentions_on(tape):
    """The mentions' status ids on the tape: (streamed, backfilled only)."""
    exported = subprocess.run([binary, "export", "--db", tape], check=True, capture_output=True,
                              text=True).stdout
    streamed, backfilled = set(), set()
    for line in exported.split("\n"):  # (not splitlines: a text may hold U+2028)
        if not line:
            continue
        record = json.loads(line)
        if record.get("type") == "frame" and record.get("event") == "notification":
            n = json.loads(json.loads(record["text"])["payload"])
            if n["type"] == "mention":
                streamed.add(n["status"]["id"])
        elif record.get("type") == "backfill" and record["endpoint"] == "/api/v1/notifications":
            n = json.loads(record["text"])
            if n["type"] == "mention":
                backfilled.add(n["status"]["id"])
    return streamed, backfilled - streamed


def run_bot(tape, *bot_flags):
    """Replays `tape` at --max-speed to the bot until it gives up; returns the journal."""
    replay = subprocess.Popen([binary, "replay", "--db", tape, "--max-speed", "--legacy-thump"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = replay.stdout.readline()
        assert line.startswith("listening ws://"), line
        base = "http://" + line.split("ws://", 1)[1].strip()
        bot = subprocess.run([sys.executable, os.path.join(here, "reply_bot.py"), base, token,
                              *bot_flags], capture_output=True, text=True, timeout=120)
        print(bot.stdout.strip(), flush=True)
        check(bot.returncode == 0, "the bot ran to its end (%s)" % bot.stderr.strip()[-300:])
        with urllib.request.urlopen(base + "/_mastotape/requests") as r:
            text = r.read().decode()
    finally:
        replay.terminate()
        replay.wait(timeout=30)
    check(token not in text, "the journal never shows the token")
    return json.loads(text)["requests"]


def replies(journal):
    out = []
    for r in journal:
        if r["method"] == "POST" and r["path"] == "/api/v1/statuses":
            fields = urllib.parse.parse_qs(r["body"])
            out.append((fields.get("in_reply_to_id", [""])[0], r["status"]))
    return out


with tempfile.TemporaryDirectory(prefix="mastotape-bot-test-") as scratch:
    tape = os.path.join(scratch, "mentions.db")
    subprocess.run([binary, "synth", "--db", tape, "--events", "60", "--rate", "5", "--mix",
                    "notification", "--connection-ends", "reset", "-q"], check=True)
    streamed, backfilled = mentions_on(tape)
    check(len(streamed) >= 3 and len(backfilled) == 1,
          "the tape has mentions on the stream (%d) and one only in a gap's backfill (%d)"
          % (len(streamed), len(backfilled)))

    runs = [run_bot(tape) for _ in range(2)]
    journal = runs[0]
    check(journal[0]["path"] == "/api/v1/accounts/verify_credentials"
          and journal[0]["status"] == 200, "the bot's first call, verify_credentials, is answered")
    answered = replies(journal)
    check(all(status == 200 for _, status in answered), "every reply was answered 200")
    got = [reply_to for reply_to, _ in answered]
    check(sorted(got) == sorted(streamed | backfilled),
          "the bot replied once to each of the %d mentions" % len(streamed | backfilled))
    check(replies(runs[1]) == answered, "a second replay gives the same replies in the same order")
    check(any(r["path"] == "/api/v1/notifications" and r["matched"] for r in journal),
          "its catch-up after the reset is in the journal")

    buggy = replies(run_bot(tape, "--ignore-backfill"))
    missed = (streamed | backfilled) - {reply_to for reply_to, _ in buggy}
    check(missed == backfilled,
          "the bot that ignores its catch-up misses exactly the backfilled mention %s" % sorted(missed))

print("%s: %d failure(s)" % ("FAILED" if failures else "passed", failures))
sys.exit(1 if failures else 0)
