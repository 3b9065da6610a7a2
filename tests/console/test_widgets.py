"""The console's forms and the TTL override form use the admin flavour's own widgets:
unfold's under unfold (it styles nothing else), django.contrib.admin's on plain admin."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.apps import apps
from django.test import Client
from django.urls import reverse

from cache_admin.console.widgets import admin_widget

UNFOLD = apps.is_installed("unfold")
# A class each flavour puts on its text and number inputs.
MARK = "border-base-200" if UNFOLD else "vTextField|vIntegerField"


def tag(body: str, field_id: str) -> str:
    found = re.search(rf"<(input|select|textarea)[^>]*id=\"{field_id}\"[^>]*>", body)
    assert found, f"no #{field_id}"
    return found.group(0)


@pytest.mark.parametrize(
    ("url", "fields"),
    [
        ("/admin/cache_admin/ttloverride/add/", ["id_ttl", "id_cache_type", "id_note"]),
        ("/admin/cache/keys/", ["id_prefix", "id_delimiter"]),
        ("/admin/cache/invalidate/", ["id_prefix-prefix", "id_fragment-name", "id_page-path"]),
        ("/admin/cache/keys/delete-prefix/", ["id_prefix"]),
    ],
)
def test_fields_are_the_admins_own(admin_client: Client, url: str, fields: list[str]) -> None:
    body = admin_client.get(url).content.decode()
    for field_id in fields:
        html = tag(body, field_id)
        if html.startswith("<select") and not UNFOLD:
            continue  # plain admin styles every select itself
        assert re.search(MARK, html), html


def test_attributes_and_choices_are_kept() -> None:
    select = forms.Select(attrs={"data-x": "1"}, choices=[("a", "A")])
    themed = admin_widget(select)
    if UNFOLD:
        assert type(themed) is not forms.Select
        assert themed.attrs["data-x"] == "1" and list(themed.choices) == [("a", "A")]
    else:
        assert themed is select
    text = admin_widget(forms.TextInput(attrs={"maxlength": "10", "placeholder": "p"}))
    assert text.attrs["maxlength"] == "10" and text.attrs["placeholder"] == "p"
    assert type(text) is not forms.TextInput
    hidden = forms.HiddenInput()
    assert admin_widget(hidden) is hidden
    multiple = forms.SelectMultiple()
    assert admin_widget(multiple) is multiple


def test_the_key_browser_form_keeps_its_values(admin_client: Client) -> None:
    body = admin_client.get(reverse("admin:cache_admin_keys"), {"prefix": "a<b"}).content.decode()
    assert 'value="a&lt;b"' in tag(body, "id_prefix")
    assert 'value=":"' in tag(body, "id_delimiter")  # the delimiter an empty value means
