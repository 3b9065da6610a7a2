"""The test site's URLs with the toolbar's and the page of ``tests.toolbar_site`` (imported
by the URL resolver once the toolbar is installed for the test)."""

from __future__ import annotations

from django.urls import include, path

from tests.toolbar_site import page
from tests.urls import urlpatterns as site_urls

# debug_toolbar_urls() adds nothing unless DEBUG, which the test runner turns off.
urlpatterns = [path("shop/", page), *site_urls, path("__debug__/", include("debug_toolbar.urls"))]
