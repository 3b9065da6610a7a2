"""The admin console: pages added to an existing admin site by :func:`install`;
:func:`require` guards a project's own views with the console's permission check;
:func:`sidebar_group` and :func:`sidebar_navigation` put it in django-unfold's sidebar.

Importable from settings (for the sidebar): nothing here loads models at import.
"""

from __future__ import annotations

from cache_admin.console.access import require
from cache_admin.console.install import install
from cache_admin.console.sidebar import sidebar_group, sidebar_navigation

__all__ = ["install", "require", "sidebar_group", "sidebar_navigation"]
