"""Forms for console input: every field bounded, so bad input becomes a message, not a 500."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from cache_admin.analysis.namespaces import MAX_DEPTH
from cache_admin.conf import MAX_BUDGET, MAX_PAGE_SIZE
from cache_admin.console.widgets import AdminForm
from cache_admin.keyspace.cursor import MAX_TOKEN
from cache_admin.keyspace.tree import DEFAULT_DELIMITER
from cache_admin.types import MAX_TTL

MAX_PREFIX = 1000
REDIS_TYPES = [
    ("", _("any type")),
    ("string", "string"),
    ("hash", "hash"),
    ("list", "list"),
    ("set", "set"),
    ("zset", "zset"),
    ("stream", "stream"),
]
# The orders of a key page: a column, "-" first for descending.
SORTS = [
    ("", _("stored key")),
    ("key", _("key")),
    ("-key", _("key, descending")),
    ("ttl", _("TTL, shortest first")),
    ("-ttl", _("TTL, longest first")),
    ("size", _("size, smallest first")),
    ("-size", _("size, largest first")),
]


class BrowseForm(AdminForm):
    prefix = forms.CharField(  # type: ignore[assignment]  # a field, not the form's prefix
        label=_("Prefix"),
        required=False,
        strip=False,
        max_length=MAX_PREFIX,
        help_text=_(
            "A literal logical key prefix; * ? [ ] and \\ match themselves, "
            "<id> stands for one id segment (digits, a UUID, a hex digest)."
        ),
        widget=forms.TextInput(attrs={"placeholder": "product:", "size": 40}),
    )
    type = forms.ChoiceField(label=_("Redis type"), choices=REDIS_TYPES, required=False)
    delimiter = forms.CharField(
        label=_("Delimiter"),
        required=False,
        strip=False,
        max_length=10,
        initial=DEFAULT_DELIMITER,
        help_text=_("Splits keys into the namespace tree; “:” when empty."),
        widget=forms.TextInput(attrs={"size": 3}),
    )
    # Checked by the toolkit (``keyspace.cursor``: one position per primary node).
    cursor = forms.CharField(required=False, max_length=MAX_TOKEN)
    page_size = forms.IntegerField(
        label=_("Page size"), min_value=1, max_value=MAX_PAGE_SIZE, required=False
    )
    # How many empty steps were already continued automatically.
    auto = forms.IntegerField(min_value=0, max_value=1000, required=False)
    sort = forms.ChoiceField(label=_("Order"), choices=SORTS, required=False)
    # A find-all search whose keys the page shows (``keyspace.find_all``).
    find = forms.RegexField(regex=r"^[0-9a-f]{32}\Z", required=False, max_length=32)

    def __init__(self, data: QueryDict | None = None, **kwargs: Any) -> None:
        if data is not None and not data.get("delimiter"):
            # The box shows the delimiter in use, which an empty value means.
            data = data.copy()
            data["delimiter"] = DEFAULT_DELIMITER
        super().__init__(data, **kwargs)


class TTLForm(AdminForm):
    ttl = forms.IntegerField(
        label=_("TTL (seconds)"),
        min_value=1,
        max_value=MAX_TTL,
        required=False,
        help_text=_("Whole seconds from 1 to 30 days; leave empty and choose remove to persist."),
    )
    remove = forms.BooleanField(label=_("Remove the TTL (keep forever)"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not data.get("remove") and data.get("ttl") is None:
            raise forms.ValidationError(_("Enter a TTL in seconds, or choose to remove it."))
        return data


class PrefixForm(AdminForm):
    prefix = forms.CharField(  # type: ignore[assignment]  # a field, not the form's prefix
        label=_("Prefix"), strip=False, max_length=MAX_PREFIX
    )

    def clean_prefix(self) -> str:
        prefix: str = self.cleaned_data["prefix"]
        if not prefix.strip():
            raise forms.ValidationError(
                _("Enter a prefix: deleting every key of the site is not offered here.")
            )
        return prefix


class ModelActionForm(AdminForm):
    ACTIONS = [
        ("instance", _("One instance (by pk or slug)")),
        ("lists", _("All of its lists")),
        ("scope", _("Its lists of one scope (field=value)")),
        ("prefix", _("Everything under its prefix")),
    ]
    model = forms.ChoiceField(label=_("Model"), choices=[])
    action = forms.ChoiceField(label=_("What"), choices=ACTIONS)
    lookup = forms.CharField(
        label=_("pk or slug"), required=False, max_length=200, help_text=_("For one instance.")
    )
    scope = forms.CharField(
        label=_("List scope"),
        required=False,
        max_length=300,
        help_text=_(
            "For the lists of one scope: a field the model's lists are scoped by and a value, "
            "for example category=laptops (a related row by pk or slug)."
        ),
    )

    def __init__(self, *args: Any, models: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["model"]).choices = list(models)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "instance" and not (data.get("lookup") or "").strip():
            self.add_error("lookup", _("Enter the pk or slug of the instance."))
        if data.get("action") == "scope" and not (data.get("scope") or "").strip():
            self.add_error("scope", _("Enter the scope as field=value, e.g. category=laptops."))
        return data


class FragmentForm(AdminForm):
    name = forms.CharField(label=_("Fragment name"), max_length=200)
    vary_on = forms.CharField(
        label=_("Vary-on values"),
        required=False,
        max_length=1000,
        help_text=_("Comma-separated, in the order of the {% cache %} tag."),
    )


class CachePageForm(AdminForm):
    path = forms.CharField(
        label=_("URL path"), max_length=2000, help_text=_("For example /products/ or a full URL.")
    )


class AnalysisForm(AdminForm):
    budget = forms.IntegerField(
        label=_("Sample size"),
        min_value=1,
        max_value=MAX_BUDGET,
        required=False,
        help_text=_(
            "Keys examined per node (empty: the ANALYSIS_SCAN_BUDGET setting). A smaller "
            "keyspace is walked whole and its figures are exact."
        ),
    )
    delimiter = forms.CharField(
        label=_("Delimiter"),
        strip=False,
        max_length=10,
        initial=DEFAULT_DELIMITER,
        help_text=_("Splits keys into namespaces."),
        widget=forms.TextInput(attrs={"size": 3}),
    )
    depth = forms.IntegerField(
        label=_("Namespace depth"),
        min_value=1,
        max_value=MAX_DEPTH,
        initial=2,
        help_text=_("Segments per namespace: 2 groups product:list:<hash> as product:list:."),
    )
