"""What keeps the storefront fresh when rows change (the spec's Strategy 3, signal-based).

``register`` deletes an instance's detail, slug and attribute keys (for its old and new
values), bumps the list generations the change reaches, and deletes the ``extra_keys`` named here
for data derived from the row, all after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model

import cache_admin
from shop.auth import get_user_profile
from shop.catalog import cart_summary, category_by_slug, category_menu
from shop.models import Cart, CartItem, Category, Product, Profile


def _category_keys(category_id: int | None) -> list[str]:
    slugs = Category.objects.filter(pk=category_id).values_list("slug", flat=True)
    return [category_menu.key_for(), *(category_by_slug.key_for(slug) for slug in slugs)]


def product_keys(product: Product) -> Iterable[str]:
    # Category pages count and feature products: those of the old and the new category.
    return _category_keys(product.category_id)


def category_keys(category: Category) -> Iterable[str]:
    return [category_menu.key_for()]


def cart_keys(row: Cart | CartItem) -> Iterable[str]:
    user_id = row.user_id if isinstance(row, Cart) else row.cart.user_id
    return [cart_summary.key_for(user_id)]


def user_keys(row: Profile | object) -> Iterable[str]:
    user_id = row.user_id if isinstance(row, Profile) else row.pk  # type: ignore[attr-defined]
    return [get_user_profile.key_for(user_id)]


# Lists filtered on one category depend on that category's token: an edit retires the
# lists of the product's old and new category and those that fix none, not every list.
cache_admin.register(
    Product,
    slug_field="slug",
    attributes=("related",),
    extra_keys=product_keys,
    list_scopes=("category",),
)
cache_admin.register(Category, slug_field="slug", extra_keys=category_keys)
cache_admin.register(Cart, lists=False, extra_keys=cart_keys)
cache_admin.register(CartItem, lists=False, extra_keys=cart_keys)
cache_admin.register(Profile, lists=False, extra_keys=user_keys)
cache_admin.register(get_user_model(), lists=False, extra_keys=user_keys)
