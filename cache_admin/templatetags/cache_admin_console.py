"""Template filters of the console: ``{% load cache_admin_console %}``."""

from __future__ import annotations

from datetime import datetime

from django import template

from cache_admin import wording

register = template.Library()


@register.filter
def ago(when: datetime | None) -> str:
    """ "just now", "25 seconds ago", "3 minutes ago" (Django's timesince says "0 minutes")."""
    return wording.ago(when)


@register.filter
def microseconds(value: float) -> str:
    return wording.microseconds(value)


@register.filter
def thousands(value: object) -> object:
    """1234567 -> "1,234,567"; anything but a whole number is left as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value
