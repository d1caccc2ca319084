"""The CSRF check on BL Intake's own pages, and its one answer.

Every POST to our blueprints must carry the session's CSRF token (Flask-WTF's `csrf_token`
field). `check` runs before every view of ours (each blueprint registers it), so no view ever
acts on a forged or stale post:
it raises Flask-WTF's `CSRFError`, which one handler (intake.web.error_pages) answers with 400
and the one message REFUSED (Danish; English on a public page in English). A page whose form
should come back with what was typed (the public forms, sign-in, the catalogue) says how to
show it with `@shows_form_again(...)`,
placed under its access check (`requires`): the refusal then waits until that check has let
the person in, and the page answers with the form instead of the error page. A host app that
turns CSRF off (WTF_CSRF_ENABLED = False) turns it off here too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from intake.translation import _l
from intake.web.blueprints import OWN_BLUEPRINTS, PUBLIC

REFUSED = _l(
    "Det blev ikke sendt, fordi sikkerhedsnøglen manglede eller var udløbet. "
    "Tjek oplysningerne, og send igen."
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_AGAIN = "intake_csrf_form_again"  # the attribute `shows_form_again` puts on a view
_REFUSED_LATER = "intake_csrf_refused"  # on `g`: refused, to be raised inside the view

View = TypeVar("View", bound=Callable[..., Any])
FormAgain = Callable[[Any], str]  # the page with its form as posted, and this message on top


def shows_form_again(again: FormAgain) -> Callable[[View], View]:
    """On a refused post, answer with `again(message)`: the page, its form as posted."""

    def decorate(view: View) -> View:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if g.pop(_REFUSED_LATER, False):
                raise CSRFError(str(REFUSED))
            return view(*args, **kwargs)

        setattr(checked, _FORM_AGAIN, again)  # `requires` above copies it (functools.wraps)
        return cast(View, checked)

    return decorate


def form_again(endpoint: str | None) -> FormAgain | None:
    """How the view at `endpoint` shows its form again, if it says (`shows_form_again`)."""
    view = current_app.view_functions.get(endpoint or "")
    again: FormAgain | None = getattr(view, _FORM_AGAIN, None)
    return again


def check() -> None:
    """Before every view of ours that changes something: the token must be the session's."""
    if request.blueprint not in OWN_BLUEPRINTS or request.method not in UNSAFE_METHODS:
        return
    config = current_app.config
    if not config.get("WTF_CSRF_ENABLED", True):
        return
    # A public form may stay open as long as its "shown at" stamp is accepted.
    time_limit = config["INTAKE_FORM_MAX_AGE_SECONDS"] if request.blueprint == PUBLIC else None
    try:
        validate_csrf(request.form.get("csrf_token"), time_limit=time_limit)
    except ValidationError as error:
        current_app.logger.info("Refused a post without a valid CSRF token: %s", error)
        if form_again(request.endpoint) is None:
            raise CSRFError(str(REFUSED)) from None
        g.setdefault(_REFUSED_LATER, True)  # the view refuses it, after its access check
