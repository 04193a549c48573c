#!/usr/bin/python3
"""The abuse campaign (issue 20): a replayer at --speed 1 serves one well-behaved client while,
at the same time, many clients read everything, some never read, slowloris connections trickle
headers, connections cycle open and shut, and others send garbage, oversized headers and
oversized frames; then a replayer with a low descriptor limit is flooded. Reports the good
client's lateness against its tape times (p50, p99, max, from its own process) beside the
replayer's own figure for it (mean, max), the replayer's peak RSS, CPU time and time spent waiting
for a CPU, and what became of each kind of abuse. Exits 1 if the replayer died, the good client
missed a frame, or the flooded replayer did not serve a client once the flood was over.

Usage: abuse_campaign.py [--clients 1000] [--cycles 10000] [--seconds 60] [--no-low-fd]
                         [--binary build/mastotape]
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

UPGRADE = ("GET /api/v1/streaming?stream=user&access_token={token} HTTP/1.1\r\n"
           "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def start_replay(binary, tape, work, name, extra=(), preexec=None):
    port_file = os.path.join(work, name + ".port")
    proc = subprocess.Popen([binary, "replay", tape, "--speed", "1", "--hold",
                             "--port-file", port_file, *extra],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, name + ".err"), "w"),
                            preexec_fn=preexec)
    while not (os.path.exists(port_file) and open(port_file).read().endswith("\n")):
        if proc.poll() is not None:
            sys.exit(f"the replayer exited at start: {open(os.path.join(work, name + '.err')).read()}")
        time.sleep(0.01)
    return proc, int(open(port_file).read())


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_mastotape/status", timeout=30) as r:
        return json.load(r)


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_wait_seconds(pid):
    """Time the process's threads were ready to run but waited for a CPU, so far."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            total += int(f.read().split()[1])
    return total / 1e9


def ms(us):
    return round(us / 1000, 2)


def good_client(port, offsets, out):
    """The well-behaved client, in a process of its own: every text frame's lateness against
    its tape time."""
    import websockets

    async def run():
        arrived = []
        async with websockets.connect(
                f"ws://127.0.0.1:{port}/api/v1/streaming?stream=user&access_token=good",
                max_size=None) as ws:
            try:
                while len(arrived) < len(offsets):
                    await asyncio.wait_for(ws.recv(), timeout=30)
                    arrived.append(time.monotonic())
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                pass
        # Against the schedule set by its most punctual frame: 0 for that one, the delay of
        # every other frame after it.
        skew = [a - o / 1e9 for a, o in zip(arrived, offsets)]
        out.put([x - min(skew) for x in skew])

    asyncio.run(run())


async def reader(port, token, stats):
    """A client that reads everything it is sent."""
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(UPGRADE.format(token=token).encode())
        head = await r.readuntil(b"\r\n\r\n")
        stats["readers_upgraded" if b" 101 " in head else "readers_refused"] += 1
        while await r.read(1 << 16):
            pass
        w.close()
    except (OSError, asyncio.IncompleteReadError):
        stats["readers_failed"] += 1


async def never_reads(port, token, stats, hold):
    """A client that upgrades and then never reads: the replayer must not wait for it."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port))
        await asyncio.get_running_loop().sock_sendall(s, UPGRADE.format(token=token).encode())
        await asyncio.sleep(hold)
        stats["never_read_held"] += 1
    except OSError:
        stats["never_read_failed"] += 1
    finally:
        s.close()


async def slowloris(port, stats, hold):
    """Headers a byte at a time, never finished: counts those the replayer hung up on."""
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /api/v1/streaming?stream=user HTTP/1.1\r\nHost: x\r\n")
        end = time.monotonic() + hold
        while time.monotonic() < end:
            w.write(b"X")
            await w.drain()
            try:
                if await asyncio.wait_for(r.read(1), timeout=1.0) == b"":
                    stats["slowloris_closed_by_server"] += 1
                    return
            except asyncio.TimeoutError:
                pass
        stats["slowloris_still_open"] += 1
        w.close()
    except OSError:
        stats["slowloris_closed_by_server"] += 1


async def cycle(port, i, stats):
    """One connect, upgrade, hang-up."""
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(UPGRADE.format(token=f"cycle{i % 50}").encode())
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), timeout=10)
        stats["cycles_upgraded" if b" 101 " in head else "cycles_refused"] += 1
        w.close()
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
        stats["cycles_failed"] += 1


async def garbage(port, kind, stats):
    """Random bytes, a 1 MB header, or a 20 MB client frame: each must be hung up on."""
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        if kind == "bytes":
            w.write(random.randbytes(4096))
        elif kind == "header":
            w.write(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        else:
            w.write(UPGRADE.format(token="big").encode())
            await r.readuntil(b"\r\n\r\n")
            size = 20 << 20  # a masked binary frame of 20 MB
            w.write(bytes([0x82, 0xFF]) + size.to_bytes(8, "big") + b"\0\0\0\0" + b"\0" * size)
        await w.drain()
        while await asyncio.wait_for(r.read(1 << 16), timeout=15):
            pass
        stats[f"garbage_{kind}_closed"] += 1
    except (OSError, asyncio.IncompleteReadError):
        stats[f"garbage_{kind}_closed"] += 1
    except asyncio.TimeoutError:
        stats[f"garbage_{kind}_left_open"] += 1


async def abuse(port, args, stats):
    hold = args.seconds * 0.8
    tasks = [reader(port, f"reader{i}", stats) for i in range(args.clients)]
    tasks += [never_reads(port, f"mute{i}", stats, hold) for i in range(50)]
    tasks += [slowloris(port, stats, hold) for _ in range(100)]
    tasks += [garbage(port, kind, stats) for kind in ("bytes", "header", "frame") for _ in range(10)]
    everything = [asyncio.create_task(t) for t in tasks]
    sem = asyncio.Semaphore(50)

    async def limited(i):
        async with sem:
            await cycle(port, i, stats)

    await asyncio.gather(*(limited(i) for i in range(args.cycles)))
    done, pending = await asyncio.wait(everything, timeout=args.seconds + 30)
    for t in pending:
        t.cancel()


async def flood(port, n):
    """Opens n connections against a replayer with few descriptors; returns them open."""
    socks = []
    for _ in range(n):
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout=2)
            w.write(UPGRADE.format(token=f"flood{len(socks)}").encode())
            socks.append(w)
        except (OSError, asyncio.TimeoutError):
            break
    await asyncio.sleep(2)
    return socks


def low_fd_phase(binary, tape, work):
    """A replayer limited to 64 descriptors, flooded with 300 connections, then asked by one
    client once the flood has gone: it must still be there and serve it."""
    proc, port = start_replay(binary, tape, work, "lowfd",
                              preexec=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)))

    async def run():
        socks = await flood(port, 300)
        for w in socks:
            w.close()
        await asyncio.sleep(1)
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(UPGRADE.format(token="after-flood").encode())
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), timeout=10)
        data = await asyncio.wait_for(r.read(1 << 16), timeout=10)
        w.close()
        return b" 101 " in head and len(data) > 0

    served = asyncio.run(run())
    alive = proc.poll() is None
    err = open(os.path.join(work, "lowfd.err")).read()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait()
    return {"low_fd_served_after_flood": served, "low_fd_alive": alive, "low_fd_exit": code,
            "low_fd_said": sorted(set(l for l in err.splitlines() if "descriptor" in l.lower()))[:3]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--no-low-fd", action="store_true",
                        help="skip the low descriptor limit phase (see tools/docs/RELIABILITY.md)")
    parser.add_argument("--binary", default="build/mastotape")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # for us and the replayer
    with tempfile.TemporaryDirectory(prefix="mastotape-abuse-") as work:
        tape = os.path.join(work, "tape.db")
        subprocess.run([binary, "synth", "--db", tape, "--events", str(20 * args.seconds),
                        "--rate", "20", "-q"], check=True)
        exported = subprocess.run([binary, "export", "--db", tape], capture_output=True,
                                  text=True, check=True).stdout
        offsets = [r["offset_ns"] for r in map(json.loads, filter(None, exported.split("\n")))
                   if r.get("type") == "frame" and r.get("kind") in ("event", "error", "text")]
        proc, port = start_replay(binary, tape, work, "main")
        out = multiprocessing.Queue()
        good = multiprocessing.Process(target=good_client, args=(port, offsets, out))
        good.start()
        deadline = time.monotonic() + 30
        while not status(port)["clients"] and time.monotonic() < deadline:
            time.sleep(0.01)  # the good client is "client 1": the first to come
        stats = {k: 0 for k in (
            "readers_upgraded", "readers_refused", "readers_failed", "never_read_held",
            "never_read_failed", "slowloris_closed_by_server", "slowloris_still_open",
            "cycles_upgraded", "cycles_refused", "cycles_failed")}
        for kind in ("bytes", "header", "frame"):
            stats[f"garbage_{kind}_closed"] = stats[f"garbage_{kind}_left_open"] = 0
        started = time.monotonic()
        asyncio.run(abuse(port, args, stats))
        late = out.get(timeout=args.seconds + 120)
        good.join()
        alive = proc.poll() is None
        peak = rss_kb(proc.pid, "VmHWM") if alive else 0
        seen = status(port) if alive else {"clients": []}
        cpu = cpu_seconds(proc.pid) if alive else 0.0
        cpu_wait = cpu_wait_seconds(proc.pid) if alive else 0.0
        proc.send_signal(signal.SIGTERM)
        code = proc.wait()
        result = {"seconds": round(time.monotonic() - started, 1), "replayer_alive": alive,
                  "replayer_exit": code, "peak_rss_mb": round(peak / 1024, 1),
                  "good_frames": len(late), "tape_frames": len(offsets), **stats}
        if late:
            ordered = sorted(late)
            result["good_lateness_ms"] = {
                "p50": round(1000 * ordered[len(ordered) // 2], 2),
                "p99": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
                "max": round(1000 * ordered[-1], 2), "mean": round(1000 * sum(late) / len(late), 2)}
        # Where the good client's lateness arises: the replayer's own figure for it (each frame's
        # write done, against its tape time), against what the client's process saw.
        sent = next((c["lateness"] for c in seen["clients"] if c["name"] == "client 1"), None)
        if sent:
            result["good_send_lateness_ms"] = {"mean": ms(sent["mean_us"]), "max": ms(sent["max_us"])}
        result["replayer_cpu_s"] = round(cpu, 1)
        result["replayer_waited_for_cpu_s"] = round(cpu_wait, 2)
        result["campaign_cpu_s"] = round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1)
        if not args.no_low_fd:
            result.update(low_fd_phase(binary, tape, work))
        print(json.dumps(result, indent=1))
        ok = (alive and code == 0 and len(late) == len(offsets) and
              (args.no_low_fd or (result["low_fd_served_after_flood"] and result["low_fd_alive"])))
        print("abuse campaign:", "passed" if ok else "FAILED")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
