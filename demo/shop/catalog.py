"""The storefront's reads, each cached with one of the spec's patterns.

Timeouts are left to the policy (``timeout=None`` plus a cache type), so a TTL override
in the console changes what the site does. ``bypass.active()`` is true on requests that
measure the site without its caches; those call the same functions undecorated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.cache.utils import make_template_fragment_key
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.template.loader import render_to_string

from cache_admin import CachedAttribute, CachePattern, cache_queryset, cache_result
from shop import bypass
from shop.models import Cart, Category, Product

PAGE_SIZE = 24
SORTS = {"name": "name", "price": "price", "-price": "-price", "new": "-created_at"}
MAX_QUERY = 80


def active_products() -> QuerySet[Product]:
    return Product.objects.filter(is_active=True).select_related("category")


# Pattern 6: paginated list views keyed by a canonical hash of filters, page and ordering.
@dataclass(frozen=True)
class ListRequest:
    category: str = ""
    sort: str = "name"
    featured: bool = False
    page: int = 1

    def filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.category:
            found["category__slug"] = self.category
        if self.featured:
            found["is_featured"] = True
        return found


def list_queryset(req: ListRequest) -> QuerySet[Product]:
    filters = req.filters()
    if req.category and not bypass.active():
        # Filtered on the product's own column, a list is scoped to its category (Product
        # is registered with list_scopes=("category",)): an edit elsewhere leaves it cached.
        # The category's pk comes from the cached menu; a shop without the cache joins.
        category_id = active_category_ids().get(req.category)
        if category_id is not None:
            del filters["category__slug"]
            filters["category_id"] = category_id
    return active_products().filter(**filters).order_by(SORTS[req.sort], "pk")


def active_category_ids() -> dict[str, int]:
    return {entry["slug"]: entry["id"] for entry in call(category_menu) if "id" in entry}


def product_list(req: ListRequest) -> dict[str, Any]:
    queryset = list_queryset(req)
    if bypass.active():
        return uncached_page(queryset, req.page)
    found: dict[str, Any] = CachePattern.cache_list_view(  # type: ignore[assignment]
        queryset, filters={**req.filters(), "sort": req.sort}, page=req.page, per_page=PAGE_SIZE
    )
    return found


def uncached_page(queryset: QuerySet[Product], number: int) -> dict[str, Any]:
    # The same page cache_list_view computes on a miss.
    found = Paginator(queryset, PAGE_SIZE).get_page(number)
    return {
        "items": list(found.object_list),
        "count": found.paginator.count,
        "page": found.number,
        "per_page": PAGE_SIZE,
        "num_pages": found.paginator.num_pages,
    }


def list_page_prefix(req: ListRequest) -> str:
    """The ``cache_page`` key prefix of one anonymous product list page.

    It carries the generation tokens the page's list depends on (its category's, or those
    of the lists that fix no category), so the saves that retire the cached list retire its
    cached pages too, and no others.
    """
    return f"product:list:page:{CachePattern.list_version(list_queryset(req))}"


# Pattern 1: product detail by slug (key product:slug:<slug>, type product detail).
@cache_result(key_prefix="product:slug", cache_type="product_detail")
def product_by_slug(slug: str) -> Product | None:
    return active_products().filter(slug=slug).first()


def warm_related(product: Product) -> None:
    CachedAttribute(
        instance=product, attr_name="related", func=product._get_related_products
    ).refresh()


# Pattern 2: the featured queryset, evaluated once and invalidated with Product.
@cache_queryset(
    key_prefix="product:list:featured",
    cache_type="product_list",
    model=Product,
    depends_on=[Category],
)
def featured_products() -> QuerySet[Product]:
    return active_products().filter(is_featured=True).order_by("-updated_at", "pk")[:12]


def warm_featured() -> None:
    featured_products.refresh()


# Category data (1 hour): the menu and one category's summary.
@cache_result(key_prefix="category:menu", cache_type="category")
def category_menu() -> list[dict[str, Any]]:
    rows = (
        Category.objects.filter(is_active=True)
        .annotate(product_count=Count("products", filter=Q(products__is_active=True)))
        .order_by("name")
    )
    return [{"id": c.pk, "name": c.name, "slug": c.slug, "count": c.product_count} for c in rows]


@cache_result(key_prefix="category:slug", cache_type="category")
def category_by_slug(slug: str) -> dict[str, Any] | None:
    category = Category.objects.filter(slug=slug, is_active=True).first()
    if category is None:
        return None
    products = category.products.filter(is_active=True)
    prices = sorted(products.values_list("price", flat=True))
    return {
        "name": category.name,
        "slug": category.slug,
        "description": category.description,
        "count": len(prices),
        "min_price": prices[0] if prices else None,
        "max_price": prices[-1] if prices else None,
        "featured": list(
            products.filter(is_featured=True).values("name", "slug", "price").order_by("name")[:6]
        ),
    }


def normalize_query(raw: str) -> str:
    words = re.findall(r"[\w-]+", raw.lower())
    return " ".join(words)[:MAX_QUERY].strip()


# Search results (10 minutes), key search:product:<query>.
@cache_result(key_prefix="search:product", cache_type="search_results")
def search_products(query: str) -> list[dict[str, Any]]:
    condition = Q()
    for word in query.split():
        condition &= Q(name__icontains=word) | Q(category__name__icontains=word)
    rows = active_products().filter(condition).order_by("name")[:48]
    return [
        {"name": p.name, "slug": p.slug, "price": p.price, "category": p.category.name}
        for p in rows
    ]


# Cart data (30 minutes), per user: cart:user:<id>.
@cache_result(key_prefix="cart:user", cache_type="cart")
def cart_summary(user_id: int) -> dict[str, Any]:
    cart = Cart.objects.filter(user_id=user_id).first()
    lines = []
    total = Decimal(0)
    if cart is not None:
        for item in cart.items.select_related("product").order_by("product__name"):
            line_total = item.product.price * item.quantity
            total += line_total
            lines.append(
                {
                    "product_id": item.product_id,
                    "name": item.product.name,
                    "slug": item.product.slug,
                    "price": item.product.price,
                    "quantity": item.quantity,
                    "total": line_total,
                }
            )
    return {"lines": lines, "total": total, "count": sum(line["quantity"] for line in lines)}


# Pattern 4: the detail page caches its recommendations with {% cache %}; this is the
# same fragment (name, vary-on values, rendered HTML), for the warmer.
RECOMMENDATIONS_FRAGMENT = "recommendations"


def recommendations_fragment(product: Product) -> tuple[str, str]:
    key = make_template_fragment_key(RECOMMENDATIONS_FRAGMENT, [product.pk])
    html = render_to_string(
        "shop/_recommendations.html", {"recommendations": product.get_recommendations()}
    )
    return key, html


def call(func: Any, *args: Any) -> Any:
    """Call a cached read, or its undecorated body when caching is bypassed."""
    if bypass.active():
        return func.__wrapped__(*args)
    return func(*args)
