"""The admin's own widgets for the console's forms and the TTL override form.

unfold styles only the widgets it made (an input without its classes has no border and
no background there), and its ModelAdmin gives its widgets to model fields only: fields a
form declares itself keep Django's bare widgets. :class:`AdminForm` gives each field the
widget the admin in use gives a field of its kind: unfold's when unfold is installed,
django.contrib.admin's otherwise.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin import widgets as admin_widgets

from cache_admin.console.render import unfold_active

# Django's widget -> django.contrib.admin's.
PLAIN: list[tuple[type[forms.Widget], type[forms.Widget]]] = [
    (forms.NumberInput, admin_widgets.AdminIntegerFieldWidget),
    (forms.TextInput, admin_widgets.AdminTextInputWidget),
    (forms.Textarea, admin_widgets.AdminTextareaWidget),
]


def _unfold_widgets() -> list[tuple[type[forms.Widget], type[forms.Widget]]]:
    from unfold import widgets as unfold_widgets

    return [
        (forms.CheckboxInput, unfold_widgets.UnfoldBooleanSwitchWidget),
        (forms.Select, unfold_widgets.UnfoldAdminSelectWidget),
        (forms.NumberInput, unfold_widgets.UnfoldAdminIntegerFieldWidget),
        (forms.TextInput, unfold_widgets.UnfoldAdminTextInputWidget),
        (forms.Textarea, unfold_widgets.UnfoldAdminTextareaWidget),
    ]


def admin_widget(widget: forms.Widget) -> forms.Widget:
    """The admin flavour's widget in place of ``widget``, keeping its attributes and choices."""
    for plain, themed in _unfold_widgets() if unfold_active() else PLAIN:
        # Django's own classes only: a subclass (a hidden input, a multiple select, the
        # admin's widget a ModelAdmin gave a model field) is something else, kept as it is.
        if type(widget) is plain:
            new: Any = themed(attrs=dict(widget.attrs))
            if isinstance(widget, forms.Select):
                new.choices = widget.choices
            new.is_required = widget.is_required
            return new  # type: ignore[no-any-return]
    return widget


class AdminForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        theme(self)


def theme(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        field.widget = admin_widget(field.widget)
