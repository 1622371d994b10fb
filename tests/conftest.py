from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="module")
def small_slices() -> Iterator[int]:
    """The decoder's slice size set to 16 for a module (a module fixture: hypothesis tests
    may use it). The shipped size is a tuning figure (192); tests of what happens at slice
    boundaries use small slices so that ordinary test streams cross several of them."""
    from chatconduit._codec import _event_decoder

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_event_decoder, "_SLICE", 16)
        yield 16
