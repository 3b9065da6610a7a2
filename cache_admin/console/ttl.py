"""TTL overrides: the form the admin uses, and shortening the TTL of keys that already exist."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from cache_admin.console.toolkit import Unavailable, as_unavailable
from cache_admin.console.widgets import theme
from cache_admin.keyspace import scan_page, set_ttl
from cache_admin.models import TTLOverride
from cache_admin.types import MAX_TTL, all_types

LONG_TTL = 24 * 3600
# Applying a TTL to existing keys walks the type's prefix in bounded SCAN pages; past this
# many pages the admin is told it stopped early rather than holding the request open.
MAX_APPLY_PAGES = 50


class TTLOverrideForm(forms.ModelForm):  # type: ignore[type-arg]
    cache_type = forms.ChoiceField(label=_("Cache type"), choices=[])
    ttl = forms.IntegerField(
        label=_("TTL (seconds)"),
        min_value=1,
        max_value=MAX_TTL,
        help_text=_("Whole seconds, from 1 to 30 days (2592000). Above 24 hours is discouraged."),
        error_messages={
            "invalid": _("Enter whole seconds, for example 300 for five minutes."),
            "min_value": _("A TTL is at least 1 second."),
            "max_value": _("A TTL is at most 30 days (2592000 seconds)."),
        },
    )
    apply_to_existing = forms.BooleanField(
        label=_("Apply to existing keys"),
        required=False,
        help_text=_("Also shorten the TTL of keys of this type that expire later than this."),
    )

    class Meta:
        model = TTLOverride
        fields = ["cache_type", "ttl", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        types = sorted(all_types().values(), key=lambda t: t.label.lower())
        cast(forms.ChoiceField, self.fields["cache_type"]).choices = [
            (t.name, f"{t.label} ({t.prefix}, default {t.ttl} s)") for t in types
        ]
        # Declared fields keep Django's bare widgets under unfold's ModelAdmin (invisible
        # there): the admin's own widgets instead.
        theme(self)

    @property
    def long_ttl(self) -> bool:
        return int(self.cleaned_data.get("ttl") or 0) > LONG_TTL


def apply_to_existing(type_name: str, ttl: int) -> tuple[int, bool]:
    """Shorten the TTL of this type's keys that live longer: (keys changed, finished)."""
    cache_type = all_types().get(type_name)
    if cache_type is None:
        return 0, True
    changed = 0
    cursor = "0"
    for _page in range(MAX_APPLY_PAGES):
        page = scan_page(cache_type.prefix, cursor=cursor, page_size=1000)
        for info in page.keys:
            if info.cache_type is None or info.cache_type.name != type_name:
                continue  # a longer prefix belongs to another type
            longer = info.ttl_state == "persistent" or (info.ttl is not None and info.ttl > ttl)
            if longer and set_ttl(info.stored, ttl):
                changed += 1
        if page.done:
            return changed, True
        cursor = page.cursor
    return changed, False


def try_apply(type_name: str, ttl: int) -> tuple[int, bool, str]:
    try:
        with as_unavailable():
            changed, finished = apply_to_existing(type_name, ttl)
    except Unavailable as exc:
        return 0, False, str(exc)
    return changed, finished, ""
