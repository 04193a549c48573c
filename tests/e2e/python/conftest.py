"""The tests of the pytest plugin (tools/integrations/python), run by tests/e2e/pytest_plugin_test.sh
with the plugin installed in a virtual environment and --mastotape-binary given."""

import json
import pathlib

import pytest

pytest_plugins = ["pytester"]

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "fixtures"


@pytest.fixture
def fixtures():
    return FIXTURES


@pytest.fixture
def binary(request):
    return request.config.getoption("--mastotape-binary")


def fixture_frames(name):
    """The frame records of a JSONL fixture, in order."""
    with open(FIXTURES / name, encoding="utf-8") as f:
        return [r for r in map(json.loads, f) if r.get("type") == "frame"]
