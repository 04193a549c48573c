"""The mastotape_replay fixture against Mastodon.py (Debian's python3-mastodon), and its
teardown's verdict on a replayer that crashed."""

import os
import signal
import threading
import time

import pytest
from mastodon import Mastodon, StreamListener
from pytest_mastotape import ReplayError

from conftest import fixture_frames


def eventually(done, seconds=20):
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if done():
            return True
        time.sleep(0.02)
    return False


class Collect(StreamListener):
    def __init__(self):
        self.got = []
        self.lock = threading.Lock()

    def on_update(self, status):
        with self.lock:
            self.got.append(("update", str(status["id"])))

    def on_status_update(self, status):
        with self.lock:
            self.got.append(("status.update", str(status["id"])))

    def on_delete(self, status_id):
        with self.lock:
            self.got.append(("delete", str(status_id)))

    def items(self):
        with self.lock:
            return list(self.got)


# Mastodon.py's reader thread raises "Server ceased communication" when stop() ends the stream.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_mastodon_py_gets_each_event_when_the_virtual_clock_reaches_it(mastotape_replay, fixtures):
    frames = fixture_frames("hashtag-sse.jsonl")
    events = [f for f in frames if f["kind"] == "event"]
    # Mastodon.py 1.8 dies at a 4.6+ `:thump\n\n`; --legacy-thump is what it can read.
    replay = mastotape_replay(fixtures / "hashtag-sse.jsonl", args=["--legacy-thump"])
    assert replay.url == f"ws://127.0.0.1:{replay.port}"
    api = Mastodon(access_token="plugin-test", api_base_url=replay.http_url)
    assert api.stream_healthy()
    listener = Collect()
    handle = api.stream_hashtag("rust", listener, run_async=True, reconnect_async=False)
    try:
        assert eventually(lambda: replay.status()["live_connections"] == 1)
        time.sleep(0.3)
        assert listener.items() == []  # the clock has not moved
        assert replay.run_to(seq=events[0]["seq"]) == events[0]["offset_ns"]
        assert eventually(lambda: len(listener.items()) == 1)
        assert listener.items()[0] == (events[0]["event"], events[0]["id"])
        replay.advance((frames[-1]["offset_ns"] - events[0]["offset_ns"]) / 1e6 + 1)
        expected = [(e["event"], e["id"]) for e in events]
        assert eventually(lambda: listener.items() == expected), listener.items()
        assert replay.report()["clients"][0]["items"]["missed"] == 0
    finally:
        report = replay.stop()  # closes the stream: the listener's thread ends
        handle.close()
    assert report["clients"][0]["items"]["available"] == len(events)
    with pytest.raises(ReplayError, match="stopped"):
        replay.status()


def test_the_control_client_moves_faults_and_refuses_with_the_api_reason(mastotape_replay, fixtures):
    replay = mastotape_replay(fixtures / "direct.jsonl", faults=["stall=5:2"])
    (stall,) = replay.control("faults")["faults"]
    assert stall.startswith("stall=5")
    replay.add_fault("drop-after=2")
    assert len(replay.control("faults")["faults"]) == 2
    replay.clear_faults()
    assert replay.control("faults")["faults"] == []
    with pytest.raises(ReplayError, match="400"):
        replay.add_fault("no-such-fault")
    with pytest.raises(ValueError):
        replay.run_to()
    assert replay.pause()["paused"] is True
    assert replay.resume()["paused"] is False
    realtime = mastotape_replay(fixtures / "direct.jsonl", clock="realtime")
    with pytest.raises(ReplayError, match="the clock is not virtual"):
        realtime.advance(10)


def test_a_tape_it_cannot_play_fails_at_start_with_the_replayer_s_words(mastotape_replay, tmp_path):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"mastotape":"tape","version":1}\nnot json\n')
    with pytest.raises(ReplayError) as e:
        mastotape_replay(broken)
    assert "did not start" in str(e.value)
    assert str(broken) in str(e.value)  # the replayer's own one-line error


def test_a_replayer_that_crashes_fails_its_test_with_its_output(pytester, fixtures, binary):
    pytester.makepyfile(f"""
        import os, signal

        def test_it_crashes(mastotape_replay):
            replay = mastotape_replay({str(fixtures / "direct.jsonl")!r})
            os.kill(replay.pid, signal.SIGKILL)

        def test_it_stops(mastotape_replay):
            replay = mastotape_replay({str(fixtures / "direct.jsonl")!r}, clock="max-speed")
            replay.status()
    """)
    result = pytester.runpytest_subprocess("--mastotape-binary", binary)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_it_crashes*",
        "mastotape replay * (killed by signal 9); its output:",
        "listening ws://127.0.0.1:*",
    ])


def test_a_bot_s_requests_are_journaled_judged_and_stubbed(mastotape_replay, fixtures):
    replay = mastotape_replay(fixtures / "direct.jsonl")
    replay.set_stubs([{"name": "lists", "request": {"method": "GET", "path": "/api/v1/lists"},
                       "response": {"json": [{"id": "7", "title": "friends"}]}}])
    replay.expect({"name": "reads its lists", "request": {"path": "/api/v1/lists"},
                   "at_least": 1},
                  {"never": {"method": "DELETE"}})
    api = Mastodon(access_token="plugin-bot-token", api_base_url=replay.http_url,
                   version_check_mode="none")
    assert api.account_verify_credentials()["acct"] == "mastotape_bot"
    assert [x["title"] for x in api.lists()] == ["friends"]  # (Mastodon.py makes ids ints)
    journal = replay.requests()
    assert [(r["method"], r["path"], r["stub"]) for r in journal] == [
        ("GET", "/api/v1/accounts/verify_credentials", None), ("GET", "/api/v1/lists", "lists")]
    assert all("plugin-bot-token" not in r["query"] + r["body"] for r in journal)
    assert [x["met"] for x in replay.expectations()] == [True, True]
    with pytest.raises(ReplayError, match="unknown key"):
        replay.expect({"nevr": {"method": "DELETE"}})
    replay.expect({"name": "no lists at all", "request": {"path": "/api/v1/lists"}, "at_most": 0})
    final = replay.stop()
    assert [(x["name"], x["met"]) for x in final["expectations"]] == [
        ("reads its lists", True), ("never DELETE", True), ("no lists at all", False)]
    assert final["expectations"][2]["unmet"][0].startswith("1 such requests between")
    assert [r["path"] for r in final["requests"]] == [r["path"] for r in journal]
