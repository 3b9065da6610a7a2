from __future__ import annotations

from urllib.parse import urlencode

from django import forms

from shop.catalog import SORTS, ListRequest

MAX_PAGE = 10_000


class ListForm(forms.Form):
    category = forms.SlugField(required=False, max_length=60)
    sort = forms.ChoiceField(
        required=False,
        choices=[("name", "Name"), ("price", "Price, low first"), ("-price", "Price, high first"),
                 ("new", "Newest")],
    )  # fmt: skip
    featured = forms.BooleanField(required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def list_request(self) -> ListRequest:
        data = self.cleaned_data
        sort = data.get("sort") or "name"
        return ListRequest(
            category=data.get("category") or "",
            sort=sort if sort in SORTS else "name",
            featured=bool(data.get("featured")),
            page=data.get("page") or 1,
        )

    def query_string(self) -> str:
        """Filters without the page, for the pagination links."""
        req = self.list_request()
        params = {"category": req.category, "sort": req.sort if req.sort != "name" else ""}
        if req.featured:
            params["featured"] = "on"
        return urlencode({k: v for k, v in params.items() if v})
