"""The names the warm tasks are registered under, for every module that sends or schedules
them (importable from a settings module: it loads nothing)."""

from __future__ import annotations

WARM_TASK = "cache_admin.warm"  # one warmer
WARM_ALL_TASK = "cache_admin.warm_all"  # one WARM_TASK per registered warmer
