"""Create the demo catalogue: categories, products and shoppers. Safe to run again.

Rows are written with ``bulk_create`` (no signals), so the command ends with the
documented invalidation calls for bulk writes.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from cache_admin import CacheInvalidator
from shop.catalogue_data import ADJECTIVES, BRANDS, CATEGORIES, MODELS, SHOPPER_PASSWORD, SHOPPERS
from shop.models import Cart, Category, Product, Profile

MAX_PRODUCTS = 1_000_000


def product_row(index: int, categories: list[Category]) -> Product:
    # Seeded per index: product N is the same on every run and every machine.
    rng = random.Random(index)
    category = categories[index % len(categories)]
    noun = rng.choice(CATEGORIES[category.name])
    name = f"{rng.choice(BRANDS)} {noun} {rng.choice(MODELS)} {index}"
    adjectives = rng.sample(ADJECTIVES, 2)
    return Product(
        name=name,
        slug=slugify(name),
        category=category,
        price=Decimal(rng.randint(499, 199_999)) / 100,
        description=(
            f"A {adjectives[0]}, {adjectives[1]} {noun.lower()} from {name.split()[0]}, "
            f"part of our {category.name.lower()} range."
        ),
        is_featured=index % 50 == 0,
        is_active=index % 97 != 0,
    )


class Command(BaseCommand):
    help = "Create the demo catalogue (idempotent): categories, products and shoppers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", type=int, default=5000, help="default 5000")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = options["products"]
        if not 0 <= wanted <= MAX_PRODUCTS:
            raise CommandError(f"--products must be between 0 and {MAX_PRODUCTS}")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        with transaction.atomic():
            categories = self.seed_categories()
            created = self.seed_products(categories, wanted, options["batch_size"])
            shoppers = self.seed_shoppers(categories)
        # bulk_create sends no signals: the documented calls for bulk writes. A slug looked
        # up before its row existed is cached as "not found" until its keys go.
        for start in range(0, len(created), options["batch_size"]):
            CacheInvalidator.invalidate_pks(Product, created[start : start + options["batch_size"]])
        CacheInvalidator.invalidate_list_cache(Product)
        CacheInvalidator.invalidate_list_cache(Category)
        if created:  # category pages count products (Strategy 4: by prefix)
            CacheInvalidator.invalidate_by_prefix("category:")
        self.stdout.write(
            f"Catalogue: {len(categories)} categories, {Product.objects.count()} products "
            f"({len(created)} new), {shoppers} shoppers (password {SHOPPER_PASSWORD!r})."
        )

    def seed_categories(self) -> list[Category]:
        existing = set(Category.objects.values_list("slug", flat=True))
        Category.objects.bulk_create(
            Category(name=name, slug=slugify(name), description=f"{name} for every day.")
            for name in CATEGORIES
            if slugify(name) not in existing
        )
        by_slug = {c.slug: c for c in Category.objects.all()}
        return [by_slug[slugify(name)] for name in CATEGORIES]

    def seed_products(self, categories: list[Category], wanted: int, batch_size: int) -> list[int]:
        existing = set(Product.objects.values_list("slug", flat=True))
        rows = [
            row
            for row in (product_row(i, categories) for i in range(1, wanted + 1))
            if row.slug not in existing
        ]
        Product.objects.bulk_create(rows, batch_size=batch_size)
        return [row.pk for row in rows if row.pk is not None]

    def seed_shoppers(self, categories: list[Category]) -> int:
        user_model = get_user_model()
        for index, username in enumerate(SHOPPERS):
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model.objects.create_user(
                    username, f"{username}@example.com", SHOPPER_PASSWORD
                )
            Profile.objects.get_or_create(
                user=user,
                defaults={
                    "display_name": username.capitalize(),
                    "favourite_category": categories[index % len(categories)],
                },
            )
            Cart.objects.get_or_create(user=user)
        return len(SHOPPERS)
