"""A project's own admin site beside the default one, with the console installed on it."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from cache_admin.console import install

site = admin.AdminSite(name="staff")
install(site)

urlpatterns = [path("admin/", admin.site.urls), path("staff/", site.urls)]
