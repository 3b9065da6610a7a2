from __future__ import annotations

from django.apps import apps
from django.contrib.admin import AdminSite
from django.utils.module_loading import import_string

from cache_admin.conf import conf
from cache_admin.console.install import install


def configured_site() -> AdminSite | None:
    dotted = conf.ADMIN_SITE
    if not isinstance(dotted, str):
        return dotted
    try:
        site = import_string(dotted)
    except ImportError:  # system check E025 says so; the site still starts
        return None
    return site if isinstance(site, AdminSite) else None


def install_configured() -> None:
    # The toolkit works without the admin: a project that uses only the decorators and
    # commands need not install django.contrib.admin.
    if not apps.is_installed("django.contrib.admin"):
        return
    site = configured_site()
    if site is not None:
        install(site)
