#!/usr/bin/python3
"""A Mastodon.py reply bot under test: replayed a tape of notifications with a reset, a gap and a
backfill, it must reply to every mention on the tape, the one the stream carried and the one only
the catch-up brings; the same bot with a planted bug (it ignores what the catch-up brings) must
miss exactly the backfilled mention, and the replayer, judging expect.yaml with --fail-on-missed,
must exit 1 naming it. What the bot did is read from the request journal (in the report, and at
/_mastotape/requests), which must never show its token. The correct bot runs twice: the same
answers. Stubs: matched, reloaded at run time, and an unmatched route's 404 in the journal.

Usage: bot_test.py MASTOTAPE_BINARY [BOT_COMMAND...]
BOT_COMMAND runs a bot taking BASE_URL TOKEN [--ignore-backfill]: by default reply_bot.py (Mastodon.py);
the suite runs it with `node tests/e2e/masto/reply_bot.mjs` (masto.js) too.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

binary = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
bot_command = sys.argv[2:] or [sys.executable, os.path.join(here, "reply_bot.py")]
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


def run_bot(tape, scratch, *bot_flags):
    """Replays `tape` at --max-speed to the bot, judged by expect.yaml, as the README has it;
    returns the replayer's exit code, what it said, and its report."""
    port_file = os.path.join(scratch, "port.txt")
    report = os.path.join(scratch, "report.json")
    for f in (port_file, report):
        if os.path.exists(f):
            os.remove(f)
    replay = subprocess.Popen([binary, "replay", "--db", tape, "--max-speed", "--legacy-thump",
                               "--port-file", port_file, "--expect",
                               os.path.join(here, "expect.yaml"), "--fail-on-missed",
                               "--exit-when-done", "--report", report, "--timeout", "120"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while not os.path.exists(port_file) or not open(port_file).read().endswith("\n"):
            time.sleep(0.05)
        base = "http://127.0.0.1:" + open(port_file).read().strip()
        bot = subprocess.run([*bot_command, base, token, *bot_flags], capture_output=True,
                             text=True, timeout=120)
        print(bot.stdout.strip(), flush=True)
        check(bot.returncode == 0, "the bot ran to its end" +
              ("" if bot.returncode == 0 else " (%s)" % bot.stderr.strip()[-300:]))
        said = replay.communicate(timeout=60)[1]
    finally:
        if replay.poll() is None:
            replay.kill()
            replay.wait()
    with open(report) as f:
        text = f.read()
    check(token not in text, "the report's journal never shows the token")
    return replay.returncode, said, json.loads(text)


def replies(journal):
    """(in_reply_to_id, status) of each post, from a form body (Mastodon.py) or JSON (masto.js)."""
    out = []
    for r in journal:
        if r["method"] == "POST" and r["path"] == "/api/v1/statuses":
            if r["body"].startswith("{"):
                reply_to = str(json.loads(r["body"]).get("in_reply_to_id", ""))
            else:
                reply_to = urllib.parse.parse_qs(r["body"]).get("in_reply_to_id", [""])[0]
            out.append((reply_to, r["status"]))
    return out


with tempfile.TemporaryDirectory(prefix="mastotape-bot-test-") as scratch:
    tape = os.path.join(scratch, "mentions.db")
    subprocess.run([binary, "synth", "--db", tape, "--events", "60", "--rate", "5", "--mix",
                    "notification", "--connection-ends", "reset", "-q"], check=True)
    streamed, backfilled = mentions_on(tape)
    check(len(streamed) >= 3 and len(backfilled) == 1,
          "the tape has mentions on the stream (%d) and one only in a gap's backfill (%d)"
          % (len(streamed), len(backfilled)))

    runs = [run_bot(tape, scratch) for _ in range(2)]
    code, said, report = runs[0]
    journal = report["requests"]
    check(code == 0 and "unmet" not in said,
          "the replayer exits 0: every expectation met (%d, %s)" % (code, said.strip()[-300:]))
    check([x["met"] for x in report["expectations"]] == [True] * 4,
          "the report has the four expectations, met")
    check(journal[0]["path"] == "/api/v1/accounts/verify_credentials"
          and journal[0]["status"] == 200, "the bot's first call, verify_credentials, is answered")
    answered = replies(journal)
    check(all(status == 200 for _, status in answered), "every reply was answered 200")
    got = [reply_to for reply_to, _ in answered]
    check(sorted(got) == sorted(streamed | backfilled),
          "the bot replied once to each of the %d mentions" % len(streamed | backfilled))
    check(replies(runs[1][2]["requests"]) == answered and runs[1][0] == 0,
          "a second replay gives the same replies in the same order")
    check(any(r["path"] == "/api/v1/notifications" and r["matched"] for r in journal),
          "its catch-up after the reset is in the journal")
    if bot_command[0] == "node":  # masto.js subscribes with a message on each WebSocket
        subscribes = [r for r in journal if r["method"] == "WS"]
        check(len(subscribes) >= 2 and all('"subscribe"' in r["body"] for r in subscribes),
              "its subscribe messages are in the journal (%d)" % len(subscribes))

    code, said, report = run_bot(tape, scratch, "--ignore-backfill")
    missed = (streamed | backfilled) - {reply_to for reply_to, _ in replies(report["requests"])}
    check(missed == backfilled,
          "the bot that ignores its catch-up misses exactly the backfilled mention %s" % sorted(missed))
    unmet = [x for x in report["expectations"] if not x["met"]]
    check(code == 1, "with --fail-on-missed its replayer exits 1 (%d)" % code)
    check(len(unmet) == 1 and unmet[0]["name"] == "replies to every mention"
          and len(unmet[0]["unmet"]) == 1, "one expectation is unmet, by one item")
    item = unmet[0]["unmet"][0] if unmet else ""
    check(("in_reply_to_id=%s" % sorted(backfilled)[0]) in item
          and "only in the recorded backfill" in item and "while away between connections" in item,
          "the unmet item is the backfilled mention, missed while away: %s" % item)
    check("expectation unmet: replies to every mention" in said, "the replayer says so: " + said)

    # Stubs: matched in order, reloaded at run time, and what none matches is Mastodon's 404.
    stubs = os.path.join(scratch, "stubs.yaml")
    with open(stubs, "w") as f:
        f.write("- name: lists\n  request: {method: GET, path: /api/v1/lists}\n"
                "  response: {json: [{id: \"7\", title: friends}], headers: {X-Stub: lists}}\n")
    replay = subprocess.Popen([binary, "replay", "--db", tape, "--max-speed", "--stub", stubs],
                              stdout=subprocess.PIPE, text=True)
    try:
        base = "http://" + replay.stdout.readline().split("ws://", 1)[1].strip()
        with urllib.request.urlopen(base + "/api/v1/lists?access_token=" + token) as r:
            check(r.status == 200 and r.headers["X-Stub"] == "lists"
                  and json.loads(r.read()) == [{"id": "7", "title": "friends"}],
                  "a stub answers its route")
        request = urllib.request.Request(
            base + "/_mastotape/stubs?reload=1", method="POST",
            data=b'[{"name": "busy", "request": {"path": "/api/v1/lists"}, '
                 b'"response": {"status": 503, "json": {"error": "busy"}}}]')
        with urllib.request.urlopen(request) as r:
            check(json.loads(r.read())["stubs"][0]["name"] == "busy", "the stubs are reloaded")
        for path, status in (("/api/v1/lists", 503), ("/api/v1/filters", 404)):
            try:
                urllib.request.urlopen(base + path)
                got = 200
            except urllib.error.HTTPError as e:
                got = e.code
                body = json.loads(e.read())
            check(got == status, "%s answers %d after the reload (%d)" % (path, status, got))
        check(body == {"error": "Record not found"}, "an unmatched route gets Mastodon's 404 body")
        with urllib.request.urlopen(base + "/_mastotape/requests") as r:
            text = r.read().decode()
        journal = json.loads(text)["requests"]
        check([(j["path"], j["stub"], j["matched"]) for j in journal] ==
              [("/api/v1/lists", "lists", True), ("/api/v1/lists", "busy", True),
               ("/api/v1/filters", None, False)],
              "the journal names the stub that answered, and the unmatched request")
        check(token not in text, "the journal never shows the token")
    finally:
        replay.terminate()
        replay.wait(timeout=30)

print("%s: %d failure(s)" % ("FAILED" if failures else "passed", failures))
sys.exit(1 if failures else 0)
