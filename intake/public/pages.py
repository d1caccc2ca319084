"""The public pages: the two forms and the receipt (DESIGN.md, "Public pages")."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from sqlalchemy import CompoundSelect, bindparam, null, select, union_all
from werkzeug.wrappers import Response
from wtforms.csrf.core import CSRFTokenField

from forms.contact import PublicForm
from forms.pamphlet_order import PamphletOrderForm, ShownPamphlet
from forms.startup_help import StartupHelpForm
from intake import held, i18n
from intake.db import get_session
from intake.email.context import about
from intake.labels import EXISTING_COOPERATION, TOPICS
from intake.models import HeldPost, Pamphlet, Submission
from intake.observability import request_log
from intake.paths import STATIC_DIR, templates_dir
from intake.privacy.notice import notice_context
from intake.public.blank_forms import BlankForms
from intake.state import current_intake
from intake.submissions import (
    find_by_public_id,
    new_submission_key,
    pamphlet_order_from_form,
    startup_help_from_form,
    store,
)
from intake.tokens import form_token, public_id_from_receipt_token, read_form_token, receipt_token
from intake.translation import _l
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

# A post that came sooner after the form was shown than a person can fill it in (a browser's
# autofill can), or without a genuine "shown at" stamp: the form again, every value kept.
TOO_SOON = _l("Din henvendelse er ikke sendt endnu. Tjek oplysningerne, og send igen.")
EXPIRED_MESSAGE = _l(
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


# The statements every form request runs, made once (plain rows, without the ORM's work).
_CATALOGUE = (
    select(Pamphlet.id, Pamphlet.slug, Pamphlet.title, Pamphlet.max_per_order, Pamphlet.stock)
    .where(Pamphlet.hidden.is_(False))
    .order_by(Pamphlet.position, Pamphlet.id)
)
# Was this form (its one-time key) posted before: stored (with a reference) or held (none)?
_POSTED_BEFORE: CompoundSelect[str, str | None] = union_all(
    select(Submission.public_id, Submission.reference).where(
        Submission.submission_key == bindparam("key")
    ),
    select(HeldPost.public_id, null().label("reference")).where(
        HeldPost.submission_key == bindparam("key")
    ),
)


def shown_catalogue() -> tuple[ShownPamphlet, ...]:
    """The pamphlets the order form shows now, as plain values: one small query per request,
    which also tells when the catalogue (or a stock) has changed."""
    rows = get_session().connection().execute(_CATALOGUE)
    return tuple(ShownPamphlet(*row) for row in rows)


@functools.lru_cache(maxsize=16)
def order_form_for(catalogue: tuple[ShownPamphlet, ...]) -> type[PamphletOrderForm]:
    """The order form's class for this catalogue, made once and kept until it changes."""
    return PamphletOrderForm.for_catalogue(catalogue)


def _form_class(page: FormPage) -> tuple[type[PublicForm], tuple[ShownPamphlet, ...]]:
    """The page's form class, and the catalogue it shows (empty for start-up help)."""
    if page is PAMPHLET_ORDER:
        catalogue = shown_catalogue()
        return order_form_for(catalogue), catalogue
    return StartupHelpForm, ()


@bp.route("/pjecer/", methods=["GET", "POST"])
@shows_form_again(lambda notice: _render(PAMPHLET_ORDER, notice))
def pamphlet_order() -> Response | str | tuple[str, int]:
    return _form_page(PAMPHLET_ORDER)


@bp.route("/opstartshjaelp/", methods=["GET", "POST"])
@shows_form_again(lambda notice: _render(STARTUP_HELP, notice))
def startup_help() -> Response | str | tuple[str, int]:
    return _form_page(STARTUP_HELP)


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
    return render_template(
        "intake/kvittering.html",
        submission=submission,
        consultant=routing.consultants.get(submission.consultant_key),
        office=routing.office,
        topics=TOPICS,
        cooperation=EXISTING_COOPERATION,
        **about(submission, current_app.config),
    )


@bp.get("/privatliv/")
def privacy() -> str:
    """The privacy notice, linked from under each form's send button and from the footer."""
    return render_template("intake/privatliv.html", **notice_context(current_app.config))


error_pages.register(bp, rate_limited=True, not_found_page=True)
bp.before_request(csrf.check)
bp.after_request(i18n.remember_choice)  # ?lang= kept in a cookie
bp.record_once(lambda setup: setup.app.extensions.setdefault(BlankForms.KEY, BlankForms()))


def _municipalities() -> list[tuple[str, str]]:
    return current_intake().routing.choices()


def _render(page: FormPage, notice: str | None = None) -> str:
    """The form page, its fields as posted (or empty on a GET)."""
    form_class, _ = _form_class(page)
    form = form_class(municipalities=_municipalities())
    return render_template(page.template, form=form, notice=notice)


def _form_page(page: FormPage) -> Response | str | tuple[str, int]:
    """GET (and HEAD) shows the form. A POST has passed the posts-per-address limit (429) and
    the CSRF check (400) before it comes here; then `_answer_post` takes it."""
    form_class, catalogue = _form_class(page)
    if request.method != "POST":
        return _blank_form(page, form_class, catalogue)
    form = form_class(municipalities=_municipalities())

    def shown(status: int = 200, notice: str | None = None) -> tuple[str, int]:
        return render_template(page.template, form=form, notice=notice), status

    return _answer_post(form, page, shown)


def _blank_form(
    page: FormPage, form_class: type[PublicForm], catalogue: tuple[ShownPamphlet, ...]
) -> str:
    """The empty form with its two fresh tokens: rendered once per catalogue (BlankForms)."""

    def render(tokens: Mapping[str, str]) -> str:
        form = form_class(municipalities=_municipalities())
        csrf_field = form._fields.get("csrf_token")  # none when a host app turned CSRF off
        if isinstance(csrf_field, CSRFTokenField) and "csrf_token" in tokens:
            csrf_field.current_token = tokens["csrf_token"]
        form.form_token.data = tokens["form_token"]
        return render_template(page.template, form=form, notice=None)

    tokens = {"form_token": form_token(new_submission_key(), page.name, time.time())}
    if current_app.config.get("WTF_CSRF_ENABLED", True):  # a host app may turn CSRF off
        tokens["csrf_token"] = generate_csrf()
    blank_forms: BlankForms = current_app.extensions[BlankForms.KEY]
    _municipalities()  # the routing in force, read first: its version is part of the key
    return blank_forms.show(
        f"{page.name}:{i18n.current_language()}",  # one kept page per language
        (catalogue, request.script_root, current_intake().live_routing.version),
        render,
        tokens,
        keep=not current_app.debug,  # a developer's template edits show at once
    )


def form_rate_limit() -> str:
    """Posts per address to this blueprint, both forms in one budget (a bot cannot double it by
    taking turns); checked before anything else (intake.extension), 429 over it."""
    return str(current_app.config["INTAKE_FORM_RATE_LIMIT"])


def _answer_post(
    form: PublicForm, page: FormPage, shown: Callable[..., tuple[str, int]]
) -> Response | str | tuple[str, int]:
    """A post, in this order. Nothing a person sends is lost, and no page says it was received
    unless it shows the reference:

    1. Too soon after the form was shown (autofill), or no genuine stamp: the form again, every
       value kept, with a fresh stamp whose next post is not timed, so the next press goes
       through. Shown too long ago: the same, with its own message.
    2. A form already stored (a double click, a resend): its receipt; already held: the same
       "held" answer.
    3. Invalid: the form again with the errors.
    4. The hidden field filled (a bot, or a password manager): held for staff (intake.held).
    5. Otherwise stored, and 303 to its receipt.
    """
    valid = form.validate()
    stamp = read_form_token(form.form_token.data or "", page.name, time.time())
    config = current_app.config
    if stamp is None or (
        not stamp.timing_checked and stamp.age_seconds < float(config["INTAKE_MIN_FILL_SECONDS"])
    ):
        current_app.logger.info(
            "Showed %s again: its post came %s",
            page.name,
            "without a genuine form stamp" if stamp is None else "too soon after the form",
        )
        key = stamp.submission_key if stamp is not None else new_submission_key()
        form.form_token.data = form_token(key, page.name, time.time(), timing_checked=True)
        return shown(200, TOO_SOON)
    if stamp.age_seconds > config["INTAKE_FORM_MAX_AGE_SECONDS"]:
        form.form_token.data = form_token(
            new_submission_key(), page.name, time.time(), timing_checked=True
        )
        return shown(200, EXPIRED_MESSAGE)

    session = get_session()
    before = session.connection().execute(_POSTED_BEFORE, {"key": stamp.submission_key}).all()
    if before:
        public_id, reference = max(before, key=lambda row: row.reference is not None)
        if reference is None:
            return _held(page)
        request_log.tag_reference(reference)
        return _to_receipt(public_id)
    if not valid:
        return shown()

    route = current_intake().routing.route(form.municipality.data)
    submission = page.build(form, route, stamp.submission_key)
    submission.language = i18n.current_language()  # the requester's e-mails go out in it
    if form.website.data:
        current_app.logger.info(
            "Held a post to %s as likely spam: its hidden field was filled", page.name
        )
        held.hold(session, submission, form.website.data)
        return _held(page)
    submission = store(session, submission)
    request_log.tag_reference(submission.reference)
    current_app.logger.info("Stored %s (%s)", submission.reference, submission.kind.value)
    return _to_receipt(submission.public_id)


def _held(page: FormPage) -> str:
    """The answer to a held post: it waits to be checked (no reference yet, so not "received")."""
    return render_template("intake/tilbageholdt.html", is_order=page is PAMPHLET_ORDER)


def _to_receipt(public_id: str) -> Response:
    return redirect(url_for(".receipt", token=receipt_token(public_id)), code=303)
