"""A project's own admin site beside the default one, with the console installed on it."""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.urls import path

from cache_admin.console import install

# Under django-unfold a project's site is unfold's (its templates need its URLs).
if apps.is_installed("unfold"):
    from unfold.sites import UnfoldAdminSite as Site
else:
    Site = admin.AdminSite

site = Site(name="staff")
install(site)

urlpatterns = [path("admin/", admin.site.urls), path("staff/", site.urls)]
