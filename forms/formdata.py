"""Where a posted form's fields come from: the urlencoded or multipart form fields only.

Flask-WTF's default also reads JSON bodies (Content-Type: application/json) and uploaded
files, which give fields numbers, lists, objects or file objects instead of text: a crafted
post then crashed the validators (a 500), and a body that was not valid JSON got Werkzeug's
English 400 page. None of our forms takes JSON or files, so only `request.form` counts.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto, _is_submitted


def form_fields_only(formdata: Any) -> Any:
    """For a form's `Meta.wrap_formdata`: the posted form fields, never JSON or files."""
    if formdata is _Auto:
        return request.form if _is_submitted() else None
    return formdata


class FormFieldsOnly(FlaskForm):
    """The base of our forms: they read only the posted form fields."""

    class Meta:
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            return form_fields_only(formdata)
