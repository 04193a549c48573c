"""Replay mastotape tapes as a local Mastodon streaming server in tests."""

from .replay import Replay, ReplayError, start_replay

__all__ = ["Replay", "ReplayError", "start_replay"]
