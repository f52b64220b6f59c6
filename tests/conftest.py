"""Shared fixtures: real-data location and small synthetic problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def data_dir(name: str) -> Path:
    """Folder of a real dataset under $NEUROLATENT_DATA (or ../shared/data), else skip."""
    root = os.environ.get("NEUROLATENT_DATA")
    candidates = [Path(root)] if root else []
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data")
    for base in candidates:
        if (base / name).is_dir():
            return base / name
    pytest.skip(f"real dataset {name!r} not found: set NEUROLATENT_DATA to the folder holding it")


@pytest.fixture(params=["per-tap", "stacked"])
def tap_gemms(request, monkeypatch):
    """Both forms of a convolution's GEMMs: one per tap, or all taps stacked into one (the
    form of wide inputs, forced here on every layer with more than one tap)."""
    if request.param == "stacked":
        import neurolatent.models.encoders as encoders

        monkeypatch.setattr(encoders, "_STACKED_MIN_CHANNELS", 1)
    return request.param
