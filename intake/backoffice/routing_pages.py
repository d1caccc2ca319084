"""The back office: the routing (/admin/routing/, one municipality at /admin/routing/<code>)
and the consultants with the pamphlet office (/admin/consultants/); administrators only.

A change is made to the routing in the database (intake.routing.edit): checked whole, written
with its audit event (who, and each entry's before → after) in one commit, and in force for the
next submission in every web process and worker (intake.routing.live).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from forms.routing_edit import (
    ConsultantForm,
    MunicipalityRoutingForm,
    OfficeForm,
    WithErrorFields,
)
from intake.backoffice.access import requires
from intake.backoffice.blueprint import bp, error_page
from intake.db import get_session
from intake.labels import ROUTING_STATUSES
from intake.models import StaffRole
from intake.reference_data import official_municipality_name
from intake.routing.edit import change_routing, current_data
from intake.routing.model import RoutingError
from intake.routing.store import Conflict, RoutingData
from intake.text import counted
from intake.web.csrf import shows_form_again

NO_ROUTING = "Databasen har ingen routing endnu. Bed IT køre „intake db upgrade“."
CONFLICT = (
    "Routingen blev ændret af en anden, mens du gemte, og din ændring er ikke gemt. "
    "Tjek siden, og gem igen."
)
IN_FORCE = "Den gælder fra næste henvendelse."


def _routing_data() -> RoutingData:
    data = current_data(get_session())
    if data is None:
        abort(503, NO_ROUTING)
    return data


def _kredse(data: RoutingData) -> dict[int, str]:
    """Each kreds and its consultant's name, by kreds."""
    covered = {
        kreds: consultant["name"]
        for consultant in data["consultants"].values()
        for kreds in consultant["kredse"]
    }
    return dict(sorted(covered.items()))


@bp.get("/routing/")
@requires(StaffRole.ADMIN)
def routing() -> str:
    data = _routing_data()
    kredse = _kredse(data)
    rows = [
        {
            "code": code,
            "name": entry["name"],
            "official_name": official_municipality_name(code, entry["name"]),
            "kreds": entry["kreds"],
            "consultant": kredse.get(entry["kreds"], ""),
            "status": entry["status"],
            "note": entry["note"],
        }
        for code, entry in sorted(data["municipalities"].items(), key=lambda item: item[1]["name"])
    ]
    unconfirmed = sum(1 for row in rows if row["status"] != "confirmed")
    return render_template(
        "intake/admin/routing.html",
        rows=rows,
        unconfirmed=unconfirmed,
        statuses=ROUTING_STATUSES,
    )


def _municipality_page(
    form: MunicipalityRoutingForm, code: str, entry: dict[str, Any], notice: str | None = None
) -> str:
    return render_template(
        "intake/admin/routing_edit.html",
        form=form,
        code=code,
        entry=entry,
        official_name=official_municipality_name(code, entry["name"]),
        notice=notice,
    )


def _municipality_again(notice: str) -> str:
    """The municipality's form as posted, after a refused CSRF token."""
    code = str((request.view_args or {}).get("code", ""))
    data = _routing_data()
    entry = data["municipalities"].get(code)
    if entry is None:
        abort(404)
    form = MunicipalityRoutingForm(kredse=_kredse(data))
    return _municipality_page(form, code, entry, notice)


@bp.route("/routing/<code>", methods=["GET", "POST"])
@requires(StaffRole.ADMIN)
@shows_form_again(_municipality_again)
def routing_edit(code: str) -> Response | str | tuple[str, int]:
    data = _routing_data()
    entry = data["municipalities"].get(code)
    if entry is None:
        return error_page(
            "Kommunen findes ikke",
            f"Der er ingen kommune med kommunekoden „{code}“ i routingen.",
            404,
        )
    form = MunicipalityRoutingForm(kredse=_kredse(data))
    if not form.is_submitted():
        form.kreds.data = str(entry["kreds"])
        form.status.data = entry["status"]
        form.note.data = entry["note"]
        return _municipality_page(form, code, entry)
    if not form.validate():
        return _municipality_page(form, code, entry)

    def edit(routing: RoutingData) -> None:
        changed = routing["municipalities"][code]
        changed["kreds"] = int(form.kreds.data or 0)
        changed["status"] = form.status.data
        changed["note"] = form.note.data or ""

    try:
        lines = change_routing(
            get_session(), current_user.email, "routing_municipality_changed", edit
        )
    except RoutingError as error:  # another change took the kreds away meanwhile
        form.kreds.errors = [f"Routingen kan ikke gemmes sådan: {error.problems[0]}"]
        return _municipality_page(form, code, entry)
    except Conflict:
        return _municipality_page(form, code, entry, CONFLICT)
    name = official_municipality_name(code, entry["name"])
    if not lines:
        flash(f"Der var ingen ændringer at gemme for {name}.")
    else:
        flash(f"Routingen for {name} er gemt. {IN_FORCE}")
    return redirect(url_for(".routing"))


def _consultant_forms(data: RoutingData) -> tuple[OfficeForm, dict[str, ConsultantForm]]:
    return OfficeForm(prefix="office"), {
        key: ConsultantForm(prefix=key) for key in data["consultants"]
    }


def _consultants_page(
    office: OfficeForm,
    consultants: dict[str, ConsultantForm],
    data: RoutingData,
    status: int = 200,
    notice: str | None = None,
) -> tuple[str, int]:
    forms: list[WithErrorFields] = [office, *consultants.values()]
    error_fields = [field for form in forms for field in form.error_fields]
    html = render_template(
        "intake/admin/consultants.html",
        office=office,
        consultants=consultants,
        data=data,
        error_fields=error_fields,
        notice=notice,
    )
    return html, status


def _consultants_again(notice: str) -> str:
    """The consultants' form as posted, after a refused CSRF token."""
    data = _routing_data()
    office, consultants = _consultant_forms(data)
    return _consultants_page(office, consultants, data, notice=notice)[0]


def _check_kredse(data: RoutingData, consultants: dict[str, ConsultantForm]) -> bool:
    """Every kreds one consultant, every municipality's kreds covered; errors on the fields."""
    claimed: dict[int, str] = {}
    ok = True
    for key, form in consultants.items():
        for kreds in form.kreds_numbers():
            if kreds in claimed:
                other = consultants[claimed[kreds]].name.data
                form.kredse.errors = [
                    f"Kreds {kreds} er også givet til {other}. En kreds har én konsulent."
                ]
                ok = False
            claimed.setdefault(kreds, key)
    used: dict[int, list[str]] = {}
    for entry in data["municipalities"].values():
        used.setdefault(entry["kreds"], []).append(entry["name"])
    for kreds, names in sorted(used.items()):
        if kreds in claimed:
            continue
        before = next(
            (k for k, c in data["consultants"].items() if kreds in c["kredse"]),
            next(iter(consultants)),
        )
        example = ", ".join(sorted(names)[:3])
        in_it = counted(len(names), "kommune", "kommuner")
        consultants[before].kredse.errors = [
            f"Kreds {kreds} mangler en konsulent: {in_it} ligger i den "
            f"(fx {example}). Giv kredsen til en konsulent, eller flyt kommunerne først."
        ]
        ok = False
    return ok


@bp.route("/consultants/", methods=["GET", "POST"])
@requires(StaffRole.ADMIN)
@shows_form_again(_consultants_again)
def consultants() -> Response | str | tuple[str, int]:
    data = _routing_data()
    office, forms = _consultant_forms(data)
    if not office.is_submitted():
        office.process(data=data["pamphlet_office"])
        for key, form in forms.items():
            entry = data["consultants"][key]
            form.process(data={**entry, "kredse": ", ".join(str(k) for k in entry["kredse"])})
        return _consultants_page(office, forms, data)
    valid = office.validate()
    valid = all([form.validate() for form in forms.values()]) and valid
    if not valid or not _check_kredse(data, forms):
        return _consultants_page(office, forms, data)

    def edit(routing: RoutingData) -> None:
        routing["pamphlet_office"] = {
            "name": office.name.data or "",
            "email": office.email.data or "",
            "phone": office.phone.data or "",
        }
        for key, form in forms.items():
            routing["consultants"][key] = {
                "name": form.name.data or "",
                "email": form.email.data or "",
                "phone": form.phone.data or "",
                "kredse": form.kreds_numbers(),
                "salesforce_user_id": form.salesforce_user_id.data or "",
            }

    try:
        lines = change_routing(
            get_session(), current_user.email, "routing_consultants_changed", edit
        )
    except RoutingError as error:  # a municipality moved meanwhile into an uncovered kreds
        return _consultants_page(
            office, forms, data, notice=f"Routingen kan ikke gemmes sådan: {error.problems[0]}"
        )
    except Conflict:
        return _consultants_page(office, forms, data, notice=CONFLICT)
    if not lines:
        flash("Der var ingen ændringer at gemme.")
    else:
        changes = counted(len(lines), "ændring", "ændringer")
        flash(f"Konsulenterne og pjecekontoret er gemt ({changes}). {IN_FORCE}")
    return redirect(url_for(".consultants"))
