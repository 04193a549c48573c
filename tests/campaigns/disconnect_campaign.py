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
With --refusals the campaign keeps fault overlays queued through the control API: the recorder's
reconnects refused (503, then 429) and its backfill requests answered 503 or 429, so gaps cost
retries. With --tls the replayer serves wss:// with a throwaway CA the recorder is given,
and TLS errors join the causes. With --sse the recorder streams over SSE.

With --storm K the replayer also drops the connection (`--fault drop-after=N`) K times, evenly
over the tape: gaps the recording does not have, which last as long as the recorder takes to come
back, while the replay clock runs on (at --speed), so the stream moves past items only REST can
give back. With --backfill-limit L the recorder fetches at most L items per endpoint and gap.
An item the recording lacks is then lost for a reason only if a gap's backfill says it stopped at
the limit on that item's endpoint and the item lies between what that backfill fetched and what
the stream sent next; any other missing item is a loss REST could have prevented, and fails the run.

Usage: disconnect_campaign.py [--speed max|N] [--events 20000] [--ends 200] [--seed 1]
                              [--exit-when-done] [--all-causes] [--refusals] [--tls] [--sse]
                              [--storm K] [--backfill-limit L]
                              [--binary build/mastotape]
"""
import argparse
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CAUSES = ["eof", "reset", "close", "close-no-code"]
# With --all-causes: also silence past the heartbeat timeout (the recorder's watchdog must end
# the connection) and a network error (the replayer ends it as a plain TCP end).
MORE_CAUSES = ["heartbeat-timeout", "network-error"]


# Kept queued by --refusals, each kind on its own, its specs in turn (keyed by what
# /_mastotape/status counts them by). A REST refusal comes a second after the last one was used:
# a page is asked again 0.5 s after its first failure, so no backfill fails for good on them (the
# unit tests see one give up after six).
REFUSALS = {"refuse_remaining": ["refuse=2:503", "refuse=1:429"],
            "rest_errors_remaining": ["rest-error=2:503", "rest-error=1:429"]}
PAUSE = {"refuse_remaining": 0.0, "rest_errors_remaining": 1.0}


class Refuser(threading.Thread):
    """Adds the next refusal of a kind whenever that kind has none left queued; counts what was
    used."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base, self.stop, self.used = base, threading.Event(), collections.Counter()

    def control(self, query):
        request = urllib.request.Request(f"{self.base}/_mastotape/faults?{query}", data=b"",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=5) as r:
            return json.loads(r.read())

    def run(self):
        turn, queued, used_at = collections.Counter(), {}, collections.defaultdict(float)
        while not self.stop.wait(0.05):
            try:
                state = self.control("")
                for key, specs in REFUSALS.items():
                    if state[key] != 0:
                        continue
                    if key in queued:
                        self.used[queued.pop(key)] += 1
                        used_at[key] = time.monotonic()
                    if time.monotonic() - used_at[key] >= PAUSE[key]:
                        queued[key] = specs[turn[key] % len(specs)]
                        turn[key] += 1
                        self.control("add=" + queued[key])
            except OSError:
                return  # the replayer is gone


def make_ca(work):
    """A throwaway CA and a server certificate for 127.0.0.1 (as the suite's tests make them)."""
    subprocess.run(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key"
        " -out ca.pem -days 2 -subj '/CN=campaign CA' && openssl req -newkey ec -pkeyopt "
        "ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "
        "'/CN=localhost' && printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' "
        "> ext.cnf && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile ext.cnf", shell=True, cwd=work, check=True,
        capture_output=True)


def end_causes(binary, db):
    """How the session's connections ended, counted by cause (refused attempts as
    handshake-failed)."""
    out = subprocess.run([binary, "export", "--db", db], capture_output=True, text=True,
                         check=True).stdout
    return collections.Counter(json.loads(l)["end_cause"] for l in filter(None, out.split("\n"))
                               if l.startswith('{"type":"connection"'))


# The endpoint a backfilled item came from, by the event that streams it.
ENDPOINT_OF = {"update": "/api/v1/timelines/home", "notification": "/api/v1/notifications",
               "conversation": "/api/v1/conversations"}


def export_records(binary, db):
    out = subprocess.run([binary, "export", "--db", db], capture_output=True, text=True,
                         check=True).stdout
    # not splitlines(): frames hold U+2028
    return [json.loads(line) for line in filter(None, out.split("\n"))]


def export_items(records):
    """(event type -> ids) the session holds, streamed or backfilled."""
    event_of = {endpoint: event for event, endpoint in ENDPOINT_OF.items()}
    items = collections.defaultdict(set)
    for r in records:
        if r.get("type") == "frame" and r.get("kind") == "event" and r.get("id"):
            items[r["event"]].add(r["id"])
        elif r.get("type") == "backfill" and r.get("id"):
            items[event_of.get(r.get("endpoint"), "update")].add(r["id"])
    return items


def limit_windows(records):
    """(event type -> [(low, high)]): for each gap whose backfill stopped at --backfill-limit on
    the endpoint of that event, the ids the limit left out: past the newest the backfill fetched
    there, before the first the stream sent after the gap."""
    gaps = [r for r in records if r.get("type") == "gap"]
    fetched = collections.defaultdict(list)  # (gap, endpoint) -> ids
    streamed = collections.defaultdict(list)  # event -> [(conn, id)]
    for r in records:
        if r.get("type") == "backfill" and r.get("id"):
            fetched[(r["gap"], r["endpoint"])].append(int(r["id"]))
        elif r.get("type") == "frame" and r.get("kind") == "event" and r.get("id"):
            streamed[r["event"]].append((r["conn"], int(r["id"])))
    windows = collections.defaultdict(list)
    for gap in gaps:
        for event, endpoint in ENDPOINT_OF.items():
            if endpoint + ": stopped at --backfill-limit" not in gap["backfill_error"]:
                continue
            low = max(fetched[(gap["idx"], endpoint)], default=0)
            after = [i for conn, i in streamed[event] if conn > gap["from_conn"]]
            windows[event].append((low, min(after, default=float("inf"))))
    return windows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", default="max")
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--ends", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--exit-when-done", action="store_true")
    parser.add_argument("--all-causes", action="store_true")
    parser.add_argument("--refusals", action="store_true")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--sse", action="store_true")
    parser.add_argument("--storm", type=int, default=0)
    parser.add_argument("--backfill-limit", type=int)
    parser.add_argument("--binary", default="build/mastotape")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    causes = CAUSES + (MORE_CAUSES if args.all_causes else []) + (["tls-error"] if args.tls else [])
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
        if os.path.exists(port_file):
            os.remove(port_file)  # left by an earlier run in MASTOTAPE_CAMPAIGN_KEEP
        exit_when_done = ["--exit-when-done"] if args.exit_when_done else []
        tls, trust = [], []
        if args.tls:
            make_ca(work)
            tls = ["--tls-cert", os.path.join(work, "server.pem"),
                   "--tls-key", os.path.join(work, "server.key")]
            trust = ["--cacert", os.path.join(work, "ca.pem")]
        storm = [f"--fault=drop-after={(i + 1) * args.events // (args.storm + 1)}"
                 for i in range(args.storm)]
        replay = subprocess.Popen([binary, "replay", source, *speed, *exit_when_done, *tls, *storm,
                                   "--rate-limit", "1000000", "--port-file", port_file],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (os.path.exists(port_file) and open(port_file).read().endswith("\n")):
            time.sleep(0.01)
        port = int(open(port_file).read())
        scheme = ("https" if args.tls else "http") if args.sse else ("wss" if args.tls else "ws")
        refuser = None
        if args.refusals:
            refuser = Refuser(f"http://127.0.0.1:{port}")
            if args.tls:
                import ssl
                context = ssl.create_default_context(cafile=os.path.join(work, "ca.pem"))
                urllib.request.install_opener(urllib.request.build_opener(
                    urllib.request.HTTPSHandler(context=context)))
                refuser.base = f"https://127.0.0.1:{port}"
            refuser.start()
        log = os.path.join(work, "rec.log")
        with open(log, "w") as out:
            recorder = subprocess.Popen(
                [binary, "record", f"{scheme}://127.0.0.1:{port}", "--db", rec, *trust,
                 *(["--transport", "sse"] if args.sse else []),
                 "--backoff-start", "0.02", "--backoff-cap", "0.1", "--json-log",
                 *(["--heartbeat-timeout", "2"] if args.all_causes else []),
                 *(["--backfill-limit", str(args.backfill_limit)] if args.backfill_limit else [])],
                env={**os.environ, "ACCESS_TOKEN": "campaign"}, stdout=out, stderr=out)
        # Every gap's backfill ends (ok, partial or failed) and the stream reaches the tape's end
        # (the replayer ends the connection there: one end more than the tape's), then the
        # recording is stopped. Backfills end out of order: the last one can end while the last
        # connection is still streaming.
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            text = open(log).read()
            backfills = sum(text.count(" backfill " + how) for how in ("ok", "partial", "failed"))
            # A storm's drop keyed to an event the recorder missed never happens: the replayer
            # refusing with "the tape has ended" says the stream is through.
            ended = text.count(" ended: ")
            if backfills >= ended - 1 and (
                    ended > len(ends) + args.storm or "the tape has ended" in text):
                break
            if args.exit_when_done and replay.poll() is not None:
                break  # it left by itself: what the recording has now is what it got
            time.sleep(0.2)
        if refuser:
            refuser.stop.set()
            refuser.join()
        if args.exit_when_done:
            replay.wait(timeout=60)
        recorder.send_signal(signal.SIGINT)
        recorder.wait()
        replay.send_signal(signal.SIGTERM)
        replay.wait()
        records = export_records(binary, rec)
        source_items, recorded = export_items(export_records(binary, source)), export_items(records)
        windows = limit_windows(records)
        deleted = source_items.get("delete", set())
        missing_total = 0
        for event in sorted(source_items):
            # An item deleted later need not be there (a delete's id is the status it deletes).
            missing = (source_items[event] - recorded.get(event, set()) -
                       (deleted if event != "delete" else set()))
            if args.storm and event not in ENDPOINT_OF:
                # What a storm's gap streamed past and no REST list holds (deletes, edits,
                # announcements) is lost with the stream, as it would be from Mastodon.
                print(f"{event:22} {len(source_items[event]):6} available, {len(missing):4} "
                      "streamed while away (no REST list to recover them from)")
                continue
            limited = {i for i in missing
                       if any(low < int(i) < high for low, high in windows.get(event, []))}
            missing -= limited
            missing_total += len(missing)
            print(f"{event:22} {len(source_items[event]):6} available, {len(missing):4} missing"
                  + (f" ({len(limited)} more left out by --backfill-limit in "
                     f"{len(windows[event])} gaps)" if event in windows else "")
                  + (f": {' '.join(sorted(missing)[:5])}" if missing else ""))
        text = open(log).read()
        print(f"{text.count(' ended: ')} connection ends at {' '.join(speed)}; backfills: "
              f"{text.count(' backfill ok')} ok, {text.count(' backfill partial')} partial, "
              f"{text.count(' backfill failed')} failed; {missing_total} items missing")
        print("ends by cause, source:", dict(sorted(end_causes(binary, source).items())))
        print("ends by cause, recorded:", dict(sorted(end_causes(binary, rec).items())))
        if refuser:
            print("refusals used: " + ", ".join(f"{n} x {spec}" for spec, n in
                                                 sorted(refuser.used.items())) +
                  f"; the recorder asked again {text.count('trying again')} times in backfills")
        return 1 if missing_total else 0


if __name__ == "__main__":
    sys.exit(main())
