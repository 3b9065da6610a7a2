from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import redis
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_POST

from cache_admin import counters, ttl_for
from shop import bypass, catalog
from shop.forms import ListForm
from shop.models import Cart, CartItem, Product


def base_context(request: HttpRequest) -> dict[str, Any]:
    return {"categories": catalog.call(catalog.category_menu)}


def home(request: HttpRequest) -> HttpResponse:
    featured = list(catalog.call(catalog.featured_products))
    return render(request, "shop/home.html", {**base_context(request), "featured": featured})


def _product_list(request: HttpRequest) -> HttpResponse:
    form = ListForm(request.GET)
    if not form.is_valid():
        return render(
            request, "shop/list.html", {**base_context(request), "form": form}, status=400
        )
    listing = catalog.product_list(form.list_request())
    return render(
        request,
        "shop/list.html",
        {**base_context(request), "form": form, "listing": listing, "query": form.query_string()},
    )


def product_list(request: HttpRequest) -> HttpResponse:
    # Pattern 3 for anonymous visitors: the whole page, keyed under the generation tokens
    # of its list, so that the edits that retire the list retire its cached pages too.
    anonymous = not request.user.is_authenticated
    if not anonymous or bypass.active():
        return _product_list(request)
    form = ListForm(request.GET)
    if not form.is_valid():
        return _product_list(request)
    try:
        prefix = catalog.list_page_prefix(form.list_request())
    except (redis.exceptions.RedisError, OSError):  # Redis away: serve the page uncached
        return _product_list(request)
    rendered: list[bool] = []

    def page(request: HttpRequest) -> HttpResponse:
        rendered.append(True)
        return _product_list(request)

    response: HttpResponse = cache_page(ttl_for("product_list"), key_prefix=prefix)(page)(request)
    # Django's page cache keeps no statistics: count its lookups under the list type.
    counters.record("product_list", "misses" if rendered else "hits")
    return response


class Recommendations:
    """Computed only when the template fragment misses; tells the view whether it did."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.computed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.computed = True
        return iter(self.product.get_recommendations())


def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = catalog.call(catalog.product_by_slug, slug)
    if product is None:
        raise Http404("No such product")
    recommendations = Recommendations(product)
    # With Redis unreachable the fragment misses at once (the cache backend's breaker).
    use_fragment_cache = not bypass.active()
    context = {
        **base_context(request),
        "product": product,
        "related": product.related_products,
        "recommendations": recommendations,
        "reco_ttl": ttl_for("recommendations"),
        "use_fragment_cache": use_fragment_cache,
    }
    response = render(request, "shop/detail.html", context)
    if use_fragment_cache:
        # Django's {% cache %} keeps no statistics: count the fragment's lookups.
        counters.record("recommendations", "misses" if recommendations.computed else "hits")
    return response


def category(request: HttpRequest, slug: str) -> HttpResponse:
    found = catalog.call(catalog.category_by_slug, slug)
    if found is None:
        raise Http404("No such category")
    return render(request, "shop/category.html", {**base_context(request), "category": found})


def search(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("q", "")
    query = catalog.normalize_query(raw)
    results = catalog.call(catalog.search_products, query) if query else []
    context = {**base_context(request), "q": raw[: catalog.MAX_QUERY], "query": query}
    return render(request, "shop/search.html", {**context, "results": results})


@login_required
def cart(request: HttpRequest) -> HttpResponse:
    summary = catalog.call(catalog.cart_summary, request.user.pk)
    return render(request, "shop/cart.html", {**base_context(request), "cart": summary})


@login_required
@require_POST
def cart_add(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product, slug=slug, is_active=True)
    with transaction.atomic():
        cart_row, _ = Cart.objects.get_or_create(user=request.user)
        item, created = CartItem.objects.get_or_create(cart=cart_row, product=product)
        if not created:
            item.quantity = F("quantity") + 1
            item.save(update_fields=["quantity"])
        cart_row.save(update_fields=["updated_at"])
    messages.success(request, f"{product.name} added to your cart.")
    return redirect("shop:cart")


@login_required
@require_POST
def cart_remove(request: HttpRequest, slug: str) -> HttpResponse:
    with transaction.atomic():
        CartItem.objects.filter(cart__user=request.user, product__slug=slug).delete()
        cart_row, _ = Cart.objects.get_or_create(user=request.user)
        # Saving the cart invalidates its key even when there was no such line.
        cart_row.save(update_fields=["updated_at"])
    return redirect("shop:cart")
