#!/usr/bin/python3
"""A small reply bot, as a bot author would write it with Mastodon.py (Debian's python3-mastodon):
it learns who it is, reads its notifications stream, and replies to every mention, once. When the
stream breaks it reconnects, and catches up from GET /api/v1/notifications (since the last one it
saw) once the stream is back; it stops when the server is gone.

Usage: reply_bot.py BASE_URL TOKEN [--ignore-backfill]
--ignore-backfill plants a bug: mentions that arrive by the catch-up are not answered.
"""
import sys
import time

from mastodon import Mastodon, StreamListener
from mastodon.errors import MastodonError

base, token = sys.argv[1], sys.argv[2]
ignore_backfill = "--ignore-backfill" in sys.argv[3:]
api = Mastodon(access_token=token, api_base_url=base, version_check_mode="none")
me = api.account_verify_credentials()
answered = set()
last_seen = None


def reply(notification):
    global last_seen
    if last_seen is None or int(notification["id"]) > int(last_seen):
        last_seen = notification["id"]
    if notification["type"] != "mention" or notification["status"]["id"] in answered:
        return
    answered.add(notification["status"]["id"])
    api.status_post("@%s thanks!" % notification["account"]["acct"],
                    in_reply_to_id=notification["status"]["id"], visibility="unlisted",
                    idempotency_key="reply-%s" % notification["id"])


def catch_up():
    """What came while the stream was down: the notifications since the last one seen."""
    for n in reversed(api.notifications(since_id=last_seen)):
        if not ignore_backfill:
            reply(n)


class Bot(StreamListener):
    """Replies as mentions come; on a connection after the first, it catches up at its first
    event (the stream is back, so nothing falls between the catch-up and the stream)."""

    def __init__(self, resumed):
        super().__init__()
        self.events = 0
        self.resumed = resumed

    def on_notification(self, notification):
        if self.resumed and self.events == 0 and last_seen is not None:
            catch_up()
        self.events += 1
        reply(notification)


# A stream that breaks is connected again; one that gives nothing three times running (the replay
# is over) ends the bot.
idle = 0
connections = 0
while idle < 3:
    bot = Bot(resumed=connections > 0)
    try:
        api.stream_user(bot, run_async=False, reconnect_async=False)
    except MastodonError:
        pass
    connections += 1
    idle = idle + 1 if bot.events == 0 else 0
    time.sleep(0.2 * idle)
print("answered %d mentions as %s" % (len(answered), me["acct"]))
