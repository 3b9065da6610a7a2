from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline

from shop.models import Cart, CartItem, Category, Product, Profile


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    list_display = ["name", "slug", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(ModelAdmin):
    list_display = ["name", "category", "price", "is_featured", "is_active", "updated_at"]
    list_filter = ["is_featured", "is_active", "category"]
    list_editable = ["price", "is_featured", "is_active"]
    list_select_related = ["category"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    list_per_page = 50


@admin.register(Profile)
class ProfileAdmin(ModelAdmin):
    list_display = ["user", "display_name", "favourite_category"]
    search_fields = ["user__username", "display_name"]
    autocomplete_fields = ["favourite_category"]


class CartItemInline(TabularInline):
    model = CartItem
    extra = 0
    autocomplete_fields = ["product"]


@admin.register(Cart)
class CartAdmin(ModelAdmin):
    list_display = ["user", "updated_at"]
    inlines = [CartItemInline]
