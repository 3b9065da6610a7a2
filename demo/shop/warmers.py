"""The spec's three warmers: ``warm_cache --products``, ``--categories``, ``--featured``.

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
    """Detail pages and related products of the top products.

    Lists are not warmed: their entries fill on the first visit (a list is only replaced
    through a lookup, which would count as a miss on the dashboard), and every product
    edit retires them all anyway.
    """
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
