"""Settings of the demo shop. Redis comes from REDIS_URL (demo/run.py sets it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.urls import reverse_lazy

from cache_admin.console import sidebar_group, sidebar_navigation

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DEMO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("DEMO_SECRET_KEY", "demo-only-not-secret")
DEBUG = os.environ.get("DEMO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "shop_site.urls"
WSGI_APPLICATION = "shop_site.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "unfold",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "cache_admin",
    "shop",
]

MIDDLEWARE = [
    "shop.measure.QueryCountMiddleware",
    "shop.bypass.CacheBypassMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "shop.sqlite3"}}


def _redis_url() -> str:
    # demo/run.py records the server it picked, so that a second terminal
    # (`manage.py loadgen`, `manage.py cache_stats`) reaches the same one.
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"].rstrip("/")
    recorded = VAR_DIR / "redis_url"
    if recorded.exists():
        return recorded.read_text().strip()
    return "redis://127.0.0.1:6379"


REDIS_URL = _redis_url()


def _redis_cluster_url() -> str | None:
    # `demo/run.py --cluster` puts the cache on a Redis Cluster it starts (Celery keeps
    # the one server: its broker needs one) and records it like the server.
    if os.environ.get("REDIS_CLUSTER_URL"):
        return os.environ["REDIS_CLUSTER_URL"].rstrip("/")
    recorded = VAR_DIR / "redis_cluster_url"
    if not os.environ.get("REDIS_URL") and recorded.exists():
        return recorded.read_text().strip()
    return None


REDIS_CLUSTER_URL = _redis_cluster_url()

# The spec's production settings, on the demo's Redis, through the package's backend:
# every call of Django's own (sessions, the page and fragment caches) goes through the
# circuit breaker too. A cache that needs more than a few hundred milliseconds is down:
# short timeouts instead of the spec's 5 s, and no retry on timeout (docs/outages.md).
CACHES = {
    "default": {
        "BACKEND": "cache_admin.backends.django_redis.RedisCache",
        "LOCATION": f"{REDIS_URL}/0",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 0.25,
            "SOCKET_TIMEOUT": 0.25,
        },
        "KEY_PREFIX": "ecommerce",
        "TIMEOUT": 300,
    }
}
if REDIS_CLUSTER_URL:  # the same backend, its cluster client (docs/cluster.md)
    CACHES["default"]["LOCATION"] = REDIS_CLUSTER_URL
    CACHES["default"]["OPTIONS"] = {
        **CACHES["default"]["OPTIONS"],  # type: ignore[dict-item]
        "CLIENT_CLASS": "cache_admin.backends.cluster.ClusterClient",
    }

# The seven cache types of the spec's TTL table.
CACHE_ADMIN = {
    "CACHE_ALIAS": "default",
    "TYPES": {
        "product_list": {"label": "Product list", "prefix": "product:list:", "ttl": 5 * 60},
        "product_detail": {"label": "Product detail", "prefix": "product:", "ttl": 15 * 60},
        "category": {"label": "Category data", "prefix": "category:", "ttl": 60 * 60},
        "user_session": {"label": "User session", "prefix": "session:", "ttl": 30 * 60},
        "search_results": {"label": "Search results", "prefix": "search:", "ttl": 10 * 60},
        # Rendered by {% cache 3600 recommendations product.pk %}: Django names the key.
        "recommendations": {
            "label": "AI recommendations",
            "prefix": "template.cache.recommendations.",
            "ttl": 60 * 60,
        },
        "cart": {"label": "Cart data", "prefix": "cart:", "ttl": 30 * 60},
    },
}

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "/login/"

# Storefront sign-in (the console keeps the admin's own login page).
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Sessions in the database, read through the cache under the "User session" type
# (CACHE_ADMIN["SESSION_TYPE"]); they live for its policy TTL.
SESSION_ENGINE = "cache_admin.sessions"

# request.user comes from the cached profile lookup (the spec's Pattern 1 example).
AUTHENTICATION_BACKENDS = ["shop.auth.CachedUserBackend"]

# The load generator's second pass sends X-Shop-Cache: off to measure the site without
# its caches, and reads each response's X-Shop-Queries; both only when this is true.
SHOP_ALLOW_CACHE_BYPASS = DEBUG

# Celery: broker and results on databases 1 and 2 of the same Redis.
CELERY_BROKER_URL = f"{REDIS_URL}/1"
CELERY_RESULT_BACKEND = f"{REDIS_URL}/2"
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False


def _can(permission: str) -> Any:
    return lambda request: request.user.has_perm(permission)


# django-unfold: the console's sidebar group, the shop's models with icons, then every other
# app (Users, Groups) as unfold would list them without a navigation setting.
SHOP_SIDEBAR = {
    "title": "Shop",
    "separator": True,
    "items": [
        {
            "title": "Products",
            "icon": "inventory_2",
            "link": reverse_lazy("admin:shop_product_changelist"),
            "permission": _can("shop.view_product"),
        },
        {
            "title": "Categories",
            "icon": "category",
            "link": reverse_lazy("admin:shop_category_changelist"),
            "permission": _can("shop.view_category"),
        },
        {
            "title": "Carts",
            "icon": "shopping_cart",
            "link": reverse_lazy("admin:shop_cart_changelist"),
            "permission": _can("shop.view_cart"),
        },
    ],
}
UNFOLD = {
    "SITE_TITLE": "Harbor & Co. admin",
    "SITE_HEADER": "Harbor & Co.",
    "SITE_URL": "/",
    "SIDEBAR": {
        "show_search": True,
        "navigation": sidebar_navigation(sidebar_group(), SHOP_SIDEBAR),
    },
}
