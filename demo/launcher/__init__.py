"""The pieces of ``demo/run.py``: the Redis it starts (``redis_servers``), the processes it
runs (``processes``) and its flags (``flags``). Standard library only: ``run.py`` imports
them before the project's virtualenv exists."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
