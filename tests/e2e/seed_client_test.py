#!/usr/bin/python3
"""A client that does what the seed's Rust example does, against the replayer.

Usage: seed_client_test.py MASTOTAPE_BINARY FIXTURES_DIR

Written with Debian's python3-websockets (10.4): one socket to
`/api/v1/streaming?stream=direct&access_token=TOKEN` (values not URL-encoded), each message an
envelope whose `payload` is a JSON *string*, and each `conversation` payload parsed strictly into
id, unread, accounts and last_status. Asserts that it received exactly the fixture's frames, byte
for byte and in order, that every conversation parses strictly, and that the replay's end closes
with 1000.
"""
import asyncio
import json
import os
import subprocess
import sys

import websockets

binary, fixtures = sys.argv[1], sys.argv[2]
fixture = os.path.join(fixtures, "direct.jsonl")
TOKEN = "seed-client-token"

expected = []
for line in open(fixture, encoding="utf-8"):
    record = json.loads(line)
    if record.get("type") == "frame" and record["kind"] == "event":
        expected.append(record["text"])
assert expected, "the fixture has no events"


class Conversation:
    """The fields the seed reads from a Conversation, with their types checked."""

    def __init__(self, payload):
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise ValueError("a conversation is an object")
        self.id = data["id"]
        self.unread = data["unread"]
        self.accounts = data["accounts"]
        self.last_status = data["last_status"]
        if not isinstance(self.id, str) or not self.id.isdigit():
            raise ValueError(f"id must be a string of digits: {self.id!r}")
        if not isinstance(self.unread, bool):
            raise ValueError(f"unread must be a boolean: {self.unread!r}")
        if not isinstance(self.accounts, list) or not all(
                isinstance(a, dict) and isinstance(a.get("acct"), str) for a in self.accounts):
            raise ValueError("accounts must be a list of accounts")
        if self.last_status is not None and not isinstance(self.last_status.get("id"), str):
            raise ValueError("last_status must be a status or null")


async def main():
    proc = subprocess.Popen([binary, "replay", fixture, "--speed", "50"],
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening ws://"), line
        base = line.split()[1]
        url = f"{base}/api/v1/streaming?stream=direct&access_token={TOKEN}"
        got = []
        conversations = []
        async with websockets.connect(url) as ws:
            try:
                async for message in ws:
                    assert isinstance(message, str), "a text frame"
                    got.append(message)
                    envelope = json.loads(message)
                    assert envelope["stream"] == ["direct"], envelope["stream"]
                    assert isinstance(envelope["payload"], str), "payload is a JSON string"
                    if envelope["event"] == "conversation":
                        conversations.append(Conversation(envelope["payload"]))
            except websockets.ConnectionClosedOK:
                pass
            close_code = ws.close_code
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    assert got == expected, f"received {len(got)} frames, the fixture has {len(expected)}"
    assert conversations, "no conversation events"
    assert close_code == 1000, f"the replay ended with {close_code}, not 1000"
    print(f"seed-style client: {len(got)} frames byte for byte, "
          f"{len(conversations)} conversations parsed strictly, closed with 1000")


asyncio.run(asyncio.wait_for(main(), timeout=120))
