"""The admin console: pages added to an existing admin site by :func:`install`."""

from __future__ import annotations

from cache_admin.console.install import install

__all__ = ["install"]
