"""The pytest plugin: the mastotape_replay fixture and where to find the binary."""

import os

import pytest

from .replay import ReplayError, start_replay


def pytest_addoption(parser):
    parser.addoption("--mastotape-binary", default=None,
                     help="the mastotape binary for the mastotape_replay fixture "
                          "(default: $MASTOTAPE, the mastotape_binary ini option, or mastotape "
                          "on PATH)")
    parser.addini("mastotape_binary", "the mastotape binary for the mastotape_replay fixture",
                  default=None)


def _binary(config):
    return (config.getoption("--mastotape-binary") or os.environ.get("MASTOTAPE")
            or config.getini("mastotape_binary") or "mastotape")


@pytest.fixture
def mastotape_replay(request):
    """A factory: mastotape_replay(tape, clock="virtual", speed=None, faults=(),
    require_token=None, stubs=None, expect=None, args=()) starts a replayer and returns its
    Replay (url, http_url, advance, run_to, add_fault, status, report, requests, expect,
    expectations, set_stubs, stop). Each is stopped at teardown; one that
    crashed fails the test with its output."""
    started = []
    binary = _binary(request.config)

    def start(tape, **options):
        replay = start_replay(tape, binary=binary, **options)
        started.append(replay)
        return replay

    yield start
    failures = []
    for replay in started:
        try:
            replay.stop()
        except ReplayError as e:
            failures.append(str(e))
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
