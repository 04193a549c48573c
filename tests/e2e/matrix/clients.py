"""The clients of the user-path matrix, each run as a child process that prints the events it got,
one `EVENT ID` a line, and leaves once it has WANT events or the stream was quiet for QUIET s.
Usage: clients.py KIND URL WANT QUIET [STREAM]   (KIND: websockets, mastodon_py)"""

import asyncio
import json
import os
import sys
import threading
import time


def event_id(event, payload):
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            pass
    return f"{event} {payload['id'] if isinstance(payload, dict) else payload}"


def websockets_client(url, want, quiet, stream):
    """python3-websockets: connects to /api/v1/streaming, subscribes with a frame, reads; after a
    drop or a close it reconnects half a second later, as a careful bot does."""
    import websockets  # pylint: disable=import-outside-toplevel

    got = []

    async def one_connection():
        async with websockets.connect(url + "/api/v1/streaming", ping_interval=None,
                                      open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": stream}))
            while len(got) < want:
                message = await asyncio.wait_for(ws.recv(), quiet)
                if isinstance(message, str) and '"event"' in message:
                    frame = json.loads(message)
                    got.append(event_id(frame["event"], frame.get("payload")))

    async def run():
        last = time.monotonic()
        while len(got) < want and time.monotonic() - last < quiet:
            before = len(got)
            try:
                await one_connection()
            except (asyncio.TimeoutError, OSError, websockets.exceptions.WebSocketException):
                pass
            if len(got) > before:
                last = time.monotonic()
            if len(got) < want:
                await asyncio.sleep(0.5)

    asyncio.run(run())
    return got


def mastodon_py_client(url, want, quiet, stream):
    """Mastodon.py 1.8 (Debian's): stream_user over SSE, reconnecting by itself."""
    from mastodon import Mastodon, StreamListener  # pylint: disable=import-outside-toplevel

    got = []
    lock = threading.Lock()

    class Collect(StreamListener):
        def handle(self, event, payload):
            with lock:
                got.append(event_id(event, payload))
                if len(got) >= want:
                    # Leave from the reader thread itself, before it reads on: a test that has
                    # what it wants goes, and never sees what comes next (a close, a reconnect).
                    print("\n".join(got), flush=True)
                    os._exit(0)

        def on_update(self, status):
            self.handle("update", status)

        def on_notification(self, notification):
            self.handle("notification", notification)

        def on_delete(self, status_id):
            self.handle("delete", str(status_id))

        def on_status_update(self, status):
            self.handle("status.update", status)

        def on_conversation(self, conversation):
            self.handle("conversation", conversation)

    api = Mastodon(access_token="matrix-token", api_base_url=url.replace("ws://", "http://"))
    listen = getattr(api, "stream_" + stream)
    listen(Collect(), run_async=True, reconnect_async=True, reconnect_async_wait_sec=1)
    last, count = time.monotonic(), 0
    while True:
        time.sleep(0.05)
        with lock:
            n = len(got)
        if n != count:
            last, count = time.monotonic(), n
        if n >= want or time.monotonic() - last >= quiet:
            break
    with lock:
        return list(got[:want])


if __name__ == "__main__":
    kind, url, want, quiet = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    stream = sys.argv[5] if len(sys.argv) > 5 else "user"
    events = {"websockets": websockets_client, "mastodon_py": mastodon_py_client}[kind](
        url, want, quiet, stream)
    for e in events:
        print(e)
    sys.stdout.flush()
    os._exit(0)  # Mastodon.py's reader thread may still be reading: leave as a test does
