"""A storefront visitor model: which page comes next, Zipf-distributed over the catalogue.

A few products, categories and search words get most of the visits (rank ``k`` is chosen
with weight ``1 / k**s``), as on a real shop. The model is seeded: two passes with the same
seed send the same sequence of requests.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from urllib.parse import urlencode

from shop.catalogue_data import BRANDS, CATEGORIES
from shop.models import Category, Product

# Share of each page kind among requests (cart pages only for signed-in shoppers).
MIX = {
    "detail": 50,
    "list": 14,
    "category": 10,
    "search": 10,
    "home": 8,
    "cart": 8,
}
# Most visitors keep the default order.
SORTS = ["", "", "", "", "", "", "", "price", "-price", "new"]
LIST_PAGES = 5


class Zipf:
    def __init__(self, n: int, s: float) -> None:
        if n < 1:
            raise ValueError("Zipf needs at least one item")
        self.cumulative = list(itertools.accumulate(1.0 / (k**s) for k in range(1, n + 1)))

    def pick(self, rng: random.Random) -> int:
        """A rank from 0 (the most popular) to n - 1."""
        point = rng.random() * self.cumulative[-1]
        return min(bisect.bisect_left(self.cumulative, point), len(self.cumulative) - 1)


@dataclass(frozen=True)
class Visit:
    kind: str
    path: str
    signed_in: bool


class Traffic:
    def __init__(self, s: float, signed_in_share: float) -> None:
        self.product_slugs = list(
            Product.objects.filter(is_active=True).order_by("pk").values_list("slug", flat=True)
        )
        if not self.product_slugs:
            raise ValueError("the catalogue is empty: run `manage.py seed` first")
        self.category_slugs = list(
            Category.objects.filter(is_active=True).order_by("pk").values_list("slug", flat=True)
        )
        words = sorted(
            {noun.split()[-1].lower() for nouns in CATEGORIES.values() for noun in nouns}
        )
        self.search_words = words + [brand.lower() for brand in BRANDS]
        random.Random(7).shuffle(self.search_words)
        self.products = Zipf(len(self.product_slugs), s)
        self.categories = Zipf(max(1, len(self.category_slugs)), s)
        self.words = Zipf(len(self.search_words), s)
        self.pages = Zipf(LIST_PAGES, s)
        self.signed_in_share = signed_in_share
        self.kinds = list(MIX)
        self.weights = list(itertools.accumulate(MIX.values()))

    def product_slug(self, rng: random.Random) -> str:
        return self.product_slugs[self.products.pick(rng)]

    def next(self, rng: random.Random) -> Visit:
        signed_in = rng.random() < self.signed_in_share
        kind = rng.choices(self.kinds, cum_weights=self.weights)[0]
        if kind == "cart" and not signed_in:
            kind = "detail"
        return Visit(kind, self.path(kind, rng), signed_in)

    def path(self, kind: str, rng: random.Random) -> str:
        if kind == "detail":
            return f"/products/{self.product_slug(rng)}/"
        if kind == "category" and self.category_slugs:
            return f"/categories/{self.category_slugs[self.categories.pick(rng)]}/"
        if kind == "search":
            return "/search/?" + urlencode({"q": self.search_words[self.words.pick(rng)]})
        if kind == "list":
            params = {"page": str(self.pages.pick(rng) + 1)}
            if self.category_slugs and rng.random() < 0.7:
                params["category"] = self.category_slugs[self.categories.pick(rng)]
            sort = rng.choice(SORTS)
            if sort:
                params["sort"] = sort
            return "/products/?" + urlencode(params)
        if kind == "cart":
            return "/cart/"
        return "/"
