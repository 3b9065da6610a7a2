"""The spec's three warmers (``warm_cache --products``, ``--categories``, ``--featured``),
the busiest product lists and recommendations.

Each one fills keys through the same cached functions the storefront reads (``.refresh``),
so a warmed key is exactly the key a visitor's request looks up.
"""

from __future__ import annotations

from cache_admin.warming import Progress, register_warmer
from shop import catalog
from shop.models import Category, Product

# The busiest products: the detail pages of the first ones in the catalogue order.
WARM_PRODUCTS = 2000


@register_warmer("products", label="Products")
def warm_products(progress: Progress) -> int:
    """Detail pages and related products of the top products."""
    slugs = list(
        Product.objects.filter(is_active=True)
        .order_by("pk")
        .values_list("slug", flat=True)[:WARM_PRODUCTS]
    )
    progress.set_total(len(slugs))
    written = 0
    for slug in slugs:
        product = catalog.product_by_slug.refresh(slug)
        written += 1
        if product is not None:
            catalog.warm_related(product)
            written += 1
        progress.advance()
    return written


# The list pages visitors reach through the pager: each list's pages up to its last one,
# at most these many (the catalogue's "all products" list runs to hundreds of pages).
WARM_LIST_PAGES = 5


@register_warmer("lists", label="Product lists")
def warm_lists(progress: Progress) -> int:
    """Every category's product list and the list of all products, in every order, each up
    to its last page (at most ``WARM_LIST_PAGES``).

    Read through, so a list already cached stays as it is (a warm run's lookups count no
    hit or miss on the dashboard; the lists it fills count as fills). Worth it because
    lists are scoped by category: an edit retires its own category's lists and those of no
    category, not every one warmed here. Each list's first page tells how many pages it
    has, so no page past the last is asked for (it would be the last page again under
    another key).
    """
    slugs = list(
        Category.objects.filter(is_active=True).order_by("name").values_list("slug", flat=True)
    )
    lists = [(slug, sort) for slug in ["", *slugs] for sort in catalog.SORTS]
    progress.set_total(len(lists))
    written = 0
    for slug, sort in lists:
        first = catalog.product_list(catalog.ListRequest(category=slug, sort=sort))
        pages = min(int(first["num_pages"]), WARM_LIST_PAGES)
        for page in range(2, pages + 1):
            catalog.product_list(catalog.ListRequest(category=slug, sort=sort, page=page))
        written += pages
        progress.advance()
    return written


@register_warmer("categories", label="Categories")
def warm_categories(progress: Progress) -> int:
    """The category menu and every category page."""
    slugs = list(Category.objects.filter(is_active=True).values_list("slug", flat=True))
    progress.set_total(len(slugs) + 1)
    catalog.category_menu.refresh()
    progress.advance()
    for slug in slugs:
        catalog.category_by_slug.refresh(slug)
        progress.advance()
    return len(slugs) + 1


@register_warmer("featured", label="Featured products")
def warm_featured(progress: Progress) -> int:
    """The featured products shown on the home page."""
    progress.set_total(1)
    catalog.warm_featured()
    progress.advance()
    return 1


# Recommendations cost the most to compute: the busiest products get theirs ahead of time.
WARM_RECOMMENDATIONS = 500


@register_warmer("recommendations", label="Recommendations")
def warm_recommendations(progress: Progress) -> int:
    """The recommendation fragment of the top products' detail pages."""
    products = list(Product.objects.filter(is_active=True).order_by("pk")[:WARM_RECOMMENDATIONS])
    progress.set_total(len(products))
    for product in products:
        key, html = catalog.recommendations_fragment(product)
        progress.write(key, html, cache_type="recommendations")
        progress.advance()
    return len(products)
