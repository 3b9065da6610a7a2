from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse

from cache_admin import CachedAttribute
from shop import bypass

RELATED_COUNT = 5
RECOMMENDATION_COUNT = 6


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:category", args=[self.slug])


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField(blank=True)
    is_featured = models.BooleanField(default=False, db_index=True)
    is_active = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shop:product", args=[self.slug])

    # Pattern 5: an expensive attribute cached under product:<id>:related.
    @property
    def related_products(self) -> list[Product]:
        if bypass.active():
            return self._get_related_products()
        value: list[Product] = CachedAttribute(
            instance=self, attr_name="related", func=self._get_related_products, timeout=None
        ).value
        return value

    def _get_related_products(self) -> list[Product]:
        return list(
            Product.objects.filter(category_id=self.category_id, is_active=True)
            .exclude(pk=self.pk)
            .select_related("category")
            .order_by("-is_featured", "name")[:RELATED_COUNT]
        )

    def get_recommendations(self) -> list[dict[str, Any]]:
        """Deliberately expensive: scores its category and the featured products against it.

        The detail page renders this inside a ``{% cache %}`` fragment (Pattern 4), so it
        runs about once an hour per product instead of on every view.
        """
        mine = _profile(f"{self.name} {self.description}")
        scored = []
        candidates = Product.objects.filter(
            models.Q(category_id=self.category_id) | models.Q(is_featured=True), is_active=True
        ).exclude(pk=self.pk)
        for row in candidates.values("name", "slug", "price", "description", "category_id"):
            theirs = _profile(f"{row['name']} {row['description']}")
            score = _cosine(mine, theirs) + (0.25 if row["category_id"] == self.category_id else 0)
            scored.append((score, row["name"], row))
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [
            {"name": row["name"], "slug": row["slug"], "price": row["price"], "score": score}
            for score, _, row in scored[:RECOMMENDATION_COUNT]
        ]


def _profile(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    words = text.lower().replace(",", " ").replace(".", " ").split()
    for word in words:
        for i in range(len(word) - 2):
            gram = word[i : i + 3]
            counts[gram] = counts.get(gram, 0) + 1
    return counts


def _cosine(a: dict[str, int], b: dict[str, int]) -> float:
    dot = sum(n * b.get(gram, 0) for gram, n in a.items())
    norm = math.sqrt(sum(n * n for n in a.values())) * math.sqrt(sum(n * n for n in b.values()))
    return dot / norm if norm else 0.0


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=100, blank=True)
    favourite_category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.display_name or str(self.user)


class Cart(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart of {self.user}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cart", "product"], name="one_line_per_product")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product}"

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity
