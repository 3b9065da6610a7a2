from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from cache_admin import counter_flush
from cache_admin.invalidation import register, unregister
from tests.testapp.models import Category, Product

# The four kinds of visitor every console page is checked against (S1).
VISITORS = ["anonymous", "staff_without", "staff_with", "superuser"]


def grant(user: User, *perms: str) -> User:
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    # has_perm caches permissions on the instance; a fresh one sees the grant.
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)


@pytest.fixture
def superuser(db: None) -> User:
    return User.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def admin_client(superuser: User) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def visitor(db: None) -> Callable[[str, str], Client]:
    """``visitor(kind, permission)`` -> a client logged in as that kind of user."""

    def make(kind: str, permission: str) -> Client:
        client = Client()
        if kind == "anonymous":
            return client
        if kind == "superuser":
            user = User.objects.create_superuser("root", "root@example.com", "pw")
        else:
            user = User.objects.create_user("staff", "staff@example.com", "pw", is_staff=True)
            if kind == "staff_with":
                user = grant(user, permission)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def registered_product(db: None) -> Iterator[type[Product]]:
    register(Product, slug_field="slug")
    yield Product
    unregister(Product)


@pytest.fixture
def product(db: None) -> Product:
    category = Category.objects.create(name="Laptops", slug="laptops")
    return Product.objects.create(name="Laptop", slug="laptop", category=category)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # Every test creates users; the default hasher's million rounds would dominate the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_counters() -> Iterator[None]:
    counter_flush.reset_for_tests()
    yield
    counter_flush.reset_for_tests()
