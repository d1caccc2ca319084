"""The public pages: the two forms and the receipt (DESIGN.md, "Public pages")."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from forms.contact import PublicForm
from forms.pamphlet_order import PamphletOrderForm
from forms.startup_help import StartupHelpForm
from intake.db import get_session
from intake.labels import EXISTING_COOPERATION, TOPICS
from intake.models import Pamphlet, Submission
from intake.observability import request_log
from intake.paths import STATIC_DIR, templates_dir
from intake.privacy.notice import notice_context
from intake.state import current_intake
from intake.submissions import (
    find_by_key,
    find_by_public_id,
    new_submission_key,
    pamphlet_order_from_form,
    startup_help_from_form,
    store,
)
from intake.tokens import form_token, public_id_from_receipt_token, read_form_token, receipt_token
from intake.web import csrf, error_pages
from intake.web.blueprints import PUBLIC
from intake.web.csrf import shows_form_again

bp = Blueprint(
    PUBLIC,
    __name__,
    template_folder=str(templates_dir()),
    static_folder=str(STATIC_DIR),
    static_url_path="/intake-static",
)

EXPIRED_MESSAGE = (
    "Siden har været åben så længe, at den er udløbet. Tjek oplysningerne, og send igen."
)

Build = Callable[[Any, Any, str], Submission]


@dataclass(frozen=True)
class FormPage:
    """One public form: its name (in its "shown at" stamp), template and what it stores."""

    name: str
    template: str
    build: Build


PAMPHLET_ORDER = FormPage("pjecer", "intake/pjecer.html", pamphlet_order_from_form)
STARTUP_HELP = FormPage("opstartshjaelp", "intake/opstartshjaelp.html", startup_help_from_form)


def pamphlet_order_form() -> type[PamphletOrderForm]:
    """The order form with a quantity field per pamphlet the catalogue shows now."""
    catalogue = get_session().scalars(
        select(Pamphlet).where(Pamphlet.hidden.is_(False)).order_by(Pamphlet.position, Pamphlet.id)
    )
    return PamphletOrderForm.for_catalogue(catalogue.all())


@bp.route("/pjecer/", methods=["GET", "POST"])
@shows_form_again(lambda notice: _render(pamphlet_order_form(), PAMPHLET_ORDER, notice))
def pamphlet_order() -> Response | str | tuple[str, int]:
    return _form_page(pamphlet_order_form(), PAMPHLET_ORDER)


@bp.route("/opstartshjaelp/", methods=["GET", "POST"])
@shows_form_again(lambda notice: _render(StartupHelpForm, STARTUP_HELP, notice))
def startup_help() -> Response | str | tuple[str, int]:
    return _form_page(StartupHelpForm, STARTUP_HELP)


@bp.get("/kvittering/<token>")
def receipt(token: str) -> str | tuple[str, int]:
    public_id = public_id_from_receipt_token(token)
    submission = find_by_public_id(get_session(), public_id) if public_id else None
    if submission is None:
        abort(404)
    request_log.tag_reference(submission.reference)
    if submission.anonymised_at is not None:  # its personal data is gone (intake.privacy)
        return render_template("intake/slettet.html", submission=submission), 410
    routing = current_intake().routing
    consultant = routing.consultants.get(submission.consultant_key)
    return render_template(
        "intake/kvittering.html",
        submission=submission,
        consultant=consultant,
        topics=TOPICS,
        cooperation=EXISTING_COOPERATION,
    )


@bp.get("/privatliv/")
def privacy() -> str:
    """The privacy notice the forms' consent refers to (linked from the consent and the footer)."""
    return render_template("intake/privatliv.html", **notice_context(current_app.config))


error_pages.register(bp, rate_limited=True, not_found_page=True)
bp.before_request(csrf.check)


def _render(form_class: type[PublicForm], page: FormPage, notice: str | None = None) -> str:
    """The form page, its fields as posted (or empty on a GET)."""
    form = form_class(municipalities=current_intake().routing.choices())
    return render_template(page.template, form=form, notice=notice)


def _form_page(form_class: type[PublicForm], page: FormPage) -> Response | str | tuple[str, int]:
    """GET shows the form. A POST has passed the posts-per-address limit (429) and the CSRF
    check (400) before it comes here; then this checks spam (neutral answer), a repeated post
    of the same form (its first receipt), the fields (the form again), and then stores the
    submission and answers 303 to its receipt."""
    form = form_class(municipalities=current_intake().routing.choices())

    def shown(status: int = 200, notice: str | None = None) -> tuple[str, int]:
        return render_template(page.template, form=form, notice=notice), status

    if request.method == "GET":
        form.form_token.data = form_token(new_submission_key(), page.name, time.time())
        return shown()
    return _answer_post(form, page, shown)


def form_rate_limit() -> str:
    """Posts per address to this blueprint, both forms in one budget (a bot cannot double it by
    taking turns); checked before anything else (intake.extension), 429 over it."""
    return str(current_app.config["INTAKE_FORM_RATE_LIMIT"])


def _answer_post(
    form: PublicForm, page: FormPage, shown: Callable[..., tuple[str, int]]
) -> Response | str | tuple[str, int]:
    """The POST half of `_form_page`, in the order its docstring gives."""
    valid = form.validate()
    stamp = read_form_token(form.form_token.data or "", page.name, time.time())
    min_fill = float(current_app.config["INTAKE_MIN_FILL_SECONDS"])
    if form.website.data or stamp is None or stamp.age_seconds < min_fill:
        current_app.logger.info(
            "Refused a likely automated post to %s (honeypot=%s, stamp=%s)",
            page.name,
            bool(form.website.data),
            "missing" if stamp is None else "too fast",
        )
        return render_template("intake/tak.html"), 200

    if stamp.age_seconds > current_app.config["INTAKE_FORM_MAX_AGE_SECONDS"]:
        form.form_token.data = form_token(new_submission_key(), page.name, time.time())
        return shown(200, EXPIRED_MESSAGE)

    session = get_session()
    earlier = find_by_key(session, stamp.submission_key)
    if earlier is not None:
        request_log.tag_reference(earlier.reference)
        return _to_receipt(earlier)
    if not valid:
        return shown()

    route = current_intake().routing.route(form.municipality.data)
    submission = store(session, page.build(form, route, stamp.submission_key))
    request_log.tag_reference(submission.reference)
    current_app.logger.info("Stored %s (%s)", submission.reference, submission.kind.value)
    return _to_receipt(submission)


def _to_receipt(submission: Submission) -> Response:
    return redirect(url_for(".receipt", token=receipt_token(submission.public_id)), code=303)
