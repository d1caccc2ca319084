"""The back office: the pamphlet catalogue — list, add, edit (and so hide) pamphlets.

Every change is written to the audit log with what changed, from → to. A pamphlet is never
deleted (order lines point at it); hiding it takes it off the public form.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from forms.pamphlet_edit import NewPamphletForm, PamphletForm
from forms.validated import required
from intake import audit
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp, error_page
from intake.db import get_session, rows_matched
from intake.models import Pamphlet, StaffRole
from intake.web.csrf import shows_form_again

STOCK_CHANGED = (
    "Lageret er ændret, mens du redigerede (fx af en afsendt ordre): der er nu {now}. "
    "Tjek tallet, og gem igen."
)

# The fields an edit may change, with the names the audit log uses for them.
EDITABLE: tuple[tuple[str, str], ...] = (
    ("title", "titel"),
    ("description", "beskrivelse"),
    ("max_per_order", "højst pr. bestilling"),
    ("stock", "lager"),
    ("position", "rækkefølge"),
    ("hidden", "synlighed"),
)


def _shown(name: str, value: Any) -> str:
    """A value as the audit log shows it."""
    if name == "stock" and value is None:
        return "tælles ikke"
    if name == "hidden":
        return "skjult" if value else "vist"
    if isinstance(value, str):
        return f"„{value if len(value) <= 80 else value[:79] + '…'}“"
    return str(value)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [
        f"{label}: {_shown(name, before[name])} → {_shown(name, after[name])}"
        for name, label in EDITABLE
        if before[name] != after[name]
    ]


def _values(pamphlet: Pamphlet) -> dict[str, Any]:
    return {name: getattr(pamphlet, name) for name, _ in EDITABLE}


def _find(session: Session, slug: str) -> Pamphlet | None:
    return session.scalar(select(Pamphlet).where(Pamphlet.slug == slug))


def _form_page(
    form: PamphletForm, pamphlet: Pamphlet | None, status: int, notice: str | None
) -> tuple[str, int]:
    html = render_template(
        "intake/admin/pamphlet.html", form=form, pamphlet=pamphlet, notice=notice
    )
    return html, status


def _new_again(notice: str) -> str:
    """The new pamphlet's form as posted, after a refused CSRF token."""
    form = NewPamphletForm(slug_taken=lambda slug: False)
    return _form_page(form, None, 400, notice)[0]


def _edit_again(notice: str) -> str:
    """The pamphlet's form as posted, after a refused CSRF token."""
    pamphlet = _find(get_session(), str((request.view_args or {}).get("slug", "")))
    return _form_page(PamphletForm(), pamphlet, 400, notice)[0]


@bp.get("/catalogue/")
@requires(StaffRole.OFFICE)
def catalogue() -> str:
    pamphlets = get_session().scalars(select(Pamphlet).order_by(Pamphlet.position, Pamphlet.id))
    return render_template("intake/admin/catalogue.html", pamphlets=list(pamphlets))


@bp.route("/catalogue/new", methods=["GET", "POST"])
@requires(StaffRole.OFFICE)
@shows_form_again(_new_again)
def catalogue_new() -> Response | str | tuple[str, int]:
    session = get_session()
    form = NewPamphletForm(slug_taken=lambda slug: _find(session, slug) is not None)

    def page(status: int = 200, notice: str | None = None) -> tuple[str, int]:
        return _form_page(form, None, status, notice)

    if not form.is_submitted():
        form.max_per_order.data = 50
        form.position.data = (session.scalar(select(func.max(Pamphlet.position))) or 0) + 1
        return page()
    if not form.validate():
        return page()

    pamphlet = Pamphlet(
        slug=form.slug.data,
        title=form.title.data,
        description=form.description.data or "",
        max_per_order=form.max_per_order.data,
        stock=form.stock.data,
        position=form.position.data,
        hidden=bool(form.hidden.data),
    )
    session.add(pamphlet)
    try:
        session.flush()  # a slug taken meanwhile fails here, before anything is recorded
    except IntegrityError:
        session.rollback()
        if _find(session, required(form.slug.data, "slug")) is None:
            raise  # not the slug: a real fault, not the user's
        form.slug.errors = [f"Der er allerede en pjece med det korte navn „{form.slug.data}“."]
        return page()
    settings = "; ".join(
        f"{label}: {_shown(name, getattr(pamphlet, name))}" for name, label in EDITABLE
    )
    audit.record(
        session, current_user.email, "pamphlet_created", detail=f"{pamphlet.slug}: {settings}"
    )
    session.commit()
    flash(f"Pjecen „{pamphlet.title}“ er tilføjet med det korte navn „{pamphlet.slug}“.")
    return redirect(url_for(".catalogue"))


@bp.route("/catalogue/<slug>", methods=["GET", "POST"])
@requires(StaffRole.OFFICE)
@shows_form_again(_edit_again)
def catalogue_edit(slug: str) -> Response | str | tuple[str, int]:
    session = get_session()
    pamphlet = _find(session, slug)
    if pamphlet is None:
        return error_page(
            "Pjecen findes ikke",
            f"Der er ingen pjece med det korte navn „{slug}“ i kataloget.",
            404,
        )
    form = PamphletForm(obj=pamphlet)

    def page(status: int = 200, notice: str | None = None) -> tuple[str, int]:
        return _form_page(form, pamphlet, status, notice)

    if not form.is_submitted():
        form.stock_shown.data = "" if pamphlet.stock is None else str(pamphlet.stock)
        return page()
    if not form.validate():
        return page()

    before = _values(pamphlet)
    after = {name: getattr(form, name).data for name, _ in EDITABLE}
    after["description"] = after["description"] or ""
    if after["stock"] == form.shown_stock():
        after["stock"] = before["stock"]  # left alone: keep what shipping may have subtracted
    elif not _set_stock(session, pamphlet, form.shown_stock(), after["stock"]):
        session.rollback()
        session.refresh(pamphlet)
        form.stock_shown.data = "" if pamphlet.stock is None else str(pamphlet.stock)
        now = "ingen optælling" if pamphlet.stock is None else f"{pamphlet.stock} stk."
        form.stock.errors = [STOCK_CHANGED.format(now=now)]
        return page()

    changes = _changes(before, after)
    if not changes:
        flash("Der var ingen ændringer at gemme.")
        return redirect(url_for(".catalogue"))
    for name, value in after.items():
        if name != "stock":
            setattr(pamphlet, name, value)
    audit.record(
        session, current_user.email, "pamphlet_updated", detail=f"{slug}: {'; '.join(changes)}"
    )
    session.commit()
    flash(f"Ændringerne til „{pamphlet.title}“ er gemt.")
    return redirect(url_for(".catalogue"))


def _set_stock(session: Session, pamphlet: Pamphlet, shown: int | None, new: int | None) -> bool:
    """Compare-and-set: write the new stock only if it is still what the page showed."""
    matched = rows_matched(
        session,
        update(Pamphlet)
        .where(Pamphlet.id == pamphlet.id, Pamphlet.stock.is_not_distinct_from(shown))
        .values(stock=new)
        .execution_options(synchronize_session=False),
    )
    return matched == 1
