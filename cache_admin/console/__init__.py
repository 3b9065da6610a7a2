"""The admin console: pages added to an existing admin site by :func:`install`;
:func:`require` guards a project's own views with the console's permission check."""

from __future__ import annotations

from cache_admin.console.access import require
from cache_admin.console.install import install

__all__ = ["install", "require"]
