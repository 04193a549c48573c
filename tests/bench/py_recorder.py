#!/usr/bin/python3
"""What a user would write instead of mastotape: Debian's python3-websockets and sqlite3.

Usage: py_recorder.py URL DB COUNT

Reads COUNT messages from URL (token in the query) and stores each with its receive time, 1,000
rows a transaction. Prints {"what":"py_recorder","messages":N,"seconds":S,"per_s":R}.
"""
import asyncio
import json
import sqlite3
import sys
import time

import websockets


async def main(url, path, count):
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS frames (seq INTEGER PRIMARY KEY, t REAL, bytes TEXT)")
    got = 0
    rows = []
    t0 = time.monotonic()
    async with websockets.connect(url, max_size=None) as ws:
        async for message in ws:
            got += 1
            rows.append((got, time.monotonic(), message))
            if len(rows) == 1000:
                with db:
                    db.executemany("INSERT INTO frames VALUES (?,?,?)", rows)
                rows.clear()
            if got >= count:
                break
    with db:
        db.executemany("INSERT INTO frames VALUES (?,?,?)", rows)
    seconds = time.monotonic() - t0
    print(json.dumps({"what": "py_recorder", "messages": got, "seconds": round(seconds, 4),
                      "per_s": round(got / seconds)}))


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
