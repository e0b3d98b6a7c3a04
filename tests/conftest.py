"""Shared fixtures.

The real captures live outside the repository, in ``../shared/captures`` beside the checkout
(CI always has them).  ``AIRWATCH_CAPTURES`` points elsewhere; where the folder is absent the
tests that need it skip with the reason, so a user's fresh checkout still passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = Path(os.environ.get("AIRWATCH_CAPTURES", ROOT.parent / "shared" / "captures"))


@pytest.fixture(scope="session")
def captures() -> Path:
    if not CAPTURES.is_dir():
        pytest.skip(f"real captures not found at {CAPTURES} (set AIRWATCH_CAPTURES)")
    return CAPTURES


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A real Mosquitto for the session, on a free port of 127.0.0.1 (fails clearly if not installed)."""
    from bus_helpers import Broker

    broker = Broker(tmp_path_factory.mktemp("mosquitto")).start()
    yield broker
    broker.stop()
