"""The catalogue in the back office (/admin/catalogue/), and its stock rules on /pjecer/."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from intake.models import AuditEvent, Pamphlet, Submission
from tests.support.helpers import VALID_ORDER, count, count_jobs, hidden_fields, submit
from tests.support.staff import OFFICE_EMAIL

SEED = "kommunesamarbejde"
SEED_TITLE = "Kommunesamarbejde – Hvorfor og hvordan?"

NEW_PAMPHLET: dict[str, Any] = {
    "title": "Styringsdialog – sådan gør I",
    "slug": "styringsdialog-2026",
    "description": "Om styringsdialogen med kommunen.",
    "max_per_order": "20",
    "stock": "100",
    "position": "2",
}


def post_form(client: Any, path: str, data: dict[str, Any], **overrides: Any) -> Any:
    """GET the form, then POST it with its own hidden fields, its values, and `data`."""
    page = client.get(path)
    assert page.status_code == 200
    form = {**hidden_fields(page.get_data(as_text=True)), **data, **overrides}
    return client.post(path, data={k: v for k, v in form.items() if v is not None})


def seed_values(**changes: Any) -> dict[str, Any]:
    """The seeded pamphlet's edit form as shown, with these fields changed."""
    return {
        "title": SEED_TITLE,
        "description": "BL's pjece om, hvorfor og hvordan boligorganisationerne og kommunen "
        "samarbejder.",
        "max_per_order": "50",
        "stock": "",
        "position": "1",
        **changes,
    }


def set_pamphlet(db: Any, slug: str = SEED, **values: Any) -> None:
    db.execute(update(Pamphlet).where(Pamphlet.slug == slug).values(**values))
    db.commit()


def pamphlet(db: Any, slug: str = SEED) -> Pamphlet:
    db.expire_all()
    return db.scalars(select(Pamphlet).where(Pamphlet.slug == slug)).one()


def audit_events(db: Any) -> list[AuditEvent]:
    db.expire_all()
    return list(
        db.scalars(select(AuditEvent).where(AuditEvent.action.like("pamphlet_%")).order_by("id"))
    )


def test_the_catalogue_lists_each_pamphlet(office):
    response = office.get("/admin/catalogue/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert SEED_TITLE in html
    assert f"<code>{SEED}</code>" in html
    assert "tælles ikke" in html
    assert '<td class="num">50</td>' in html
    assert 'href="/admin/catalogue/kommunesamarbejde"' in html
    assert 'href="/admin/catalogue/"' in html  # in the menu: "Pjecer og lager"


def test_adding_a_pamphlet_puts_it_on_the_form_and_in_the_audit_log(office, client, db):
    response = post_form(office, "/admin/catalogue/new", NEW_PAMPHLET)

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/catalogue/"
    added = pamphlet(db, "styringsdialog-2026")
    assert (added.title, added.max_per_order, added.stock, added.position, added.hidden) == (
        "Styringsdialog – sådan gør I",
        20,
        100,
        2,
        False,
    )
    assert (
        "Pjecen „Styringsdialog – sådan gør I“ er tilføjet med det korte navn "
        "„styringsdialog-2026“."
    ) in office.get("/admin/catalogue/").get_data(as_text=True)
    [event] = audit_events(db)
    assert (event.actor, event.action) == (OFFICE_EMAIL, "pamphlet_created")
    assert event.detail.startswith("styringsdialog-2026: titel: „Styringsdialog – sådan gør I“")
    assert "lager: 100" in event.detail
    assert 'name="quantity-styringsdialog-2026"' in client.get("/pjecer/").get_data(as_text=True)


def test_the_slug_is_made_from_the_title_when_left_empty(office, client, db):
    title = "Ældre, Øer & Ålborg – 2027!"
    response = post_form(office, "/admin/catalogue/new", NEW_PAMPHLET, title=title, slug="")
    assert response.status_code == 302
    made = pamphlet(db, "aeldre-oeer-aalborg-2027")  # æ, ø and å spelled as web addresses do
    assert made.title == title
    assert 'name="quantity-aeldre-oeer-aalborg-2027"' in client.get("/pjecer/").get_data(
        as_text=True
    )
    # The same title again: the short name gets a number, never a clash.
    post_form(office, "/admin/catalogue/new", NEW_PAMPHLET, title=title, slug="")
    assert pamphlet(db, "aeldre-oeer-aalborg-2027-2").title == made.title
    # A typed short name is kept as typed (the field stays editable).
    post_form(office, "/admin/catalogue/new", NEW_PAMPHLET, title="Noget andet", slug="mit-navn")
    assert pamphlet(db, "mit-navn").title == "Noget andet"
    page = office.get("/admin/catalogue/new").get_data(as_text=True)
    assert 'name="slug"' in page and "Laves ud fra titlen" in page


def test_editing_records_what_changed_from_and_to(office, db):
    response = post_form(
        office,
        f"/admin/catalogue/{SEED}",
        seed_values(title="Kommunesamarbejde – hvorfor og hvordan? (2. udgave)"),
        max_per_order="20",
        stock="300",
    )

    assert response.status_code == 302
    edited = pamphlet(db)
    assert (edited.title, edited.max_per_order, edited.stock) == (
        "Kommunesamarbejde – hvorfor og hvordan? (2. udgave)",
        20,
        300,
    )
    [event] = audit_events(db)
    assert (event.actor, event.action) == (OFFICE_EMAIL, "pamphlet_updated")
    assert event.detail == (
        "kommunesamarbejde: titel: „Kommunesamarbejde – Hvorfor og hvordan?“ → "
        "„Kommunesamarbejde – hvorfor og hvordan? (2. udgave)“; højst pr. bestilling: 50 → 20; "
        "lager: tælles ikke → 300"
    )


def test_saving_without_changes_records_nothing(office, db):
    response = post_form(office, f"/admin/catalogue/{SEED}", seed_values())
    assert response.status_code == 302
    assert "Der var ingen ændringer at gemme." in office.get("/admin/catalogue/").get_data(
        as_text=True
    )
    assert audit_events(db) == []


def test_a_hidden_pamphlet_leaves_the_public_form_and_cannot_be_ordered(office, client, db):
    assert post_form(office, f"/admin/catalogue/{SEED}", seed_values(hidden="y")).status_code == 302

    assert pamphlet(db).hidden is True
    assert audit_events(db)[0].detail == "kommunesamarbejde: synlighed: vist → skjult"
    assert "Skjult" in office.get("/admin/catalogue/").get_data(as_text=True)
    page = client.get("/pjecer/").get_data(as_text=True)
    assert 'name="quantity-kommunesamarbejde"' not in page
    assert f'<label for="quantity-{SEED}">' not in page
    response = submit(client, "/pjecer/", VALID_ORDER)  # orders it anyway
    assert response.status_code == 200
    assert count(db) == 0 and count_jobs(db) == 0


def test_invalid_input_gets_danish_messages_and_changes_nothing(office, db):
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"title": ""}, "title", "Skriv pjecens titel."),
        ({"title": "Æ" * 256}, "title", "Skriv højst 255 tegn."),
        ({"slug": "", "title": "– ? –"}, "slug", "Titlen har ingen bogstaver eller tal"),
        ({"slug": "Styring"}, "slug", "Brug kun små bogstaver a–z, tal og bindestreger"),
        ({"slug": "støtte"}, "slug", "Brug kun små bogstaver a–z, tal og bindestreger"),
        ({"slug": "-styring"}, "slug", "Brug kun små bogstaver a–z, tal og bindestreger"),
        ({"slug": "a" * 65}, "slug", "Skriv højst 64 tegn."),
        ({"slug": "new"}, "slug", "„new“ kan ikke bruges som kort navn."),
        ({"slug": SEED}, "slug", "Der er allerede en pjece med det korte navn „kommunesamarbejde“"),
        ({"max_per_order": ""}, "max_per_order", "Skriv, hvor mange der højst kan bestilles"),
        ({"max_per_order": "0"}, "max_per_order", "Skriv et tal fra 1 til 10000."),
        ({"max_per_order": "10001"}, "max_per_order", "Skriv et tal fra 1 til 10000."),
        ({"max_per_order": "mange"}, "max_per_order", "Skriv et helt tal, fx 100."),
        ({"stock": "-1"}, "stock", "Skriv 0 eller et større helt tal."),
        ({"stock": "1,5"}, "stock", "Skriv et helt tal, fx 100."),
        ({"position": ""}, "position", "Skriv et tal for rækkefølgen, fx 1."),
        ({"description": "ø" * 2001}, "description", "Skriv højst 2000 tegn."),
    ]
    for changes, field, message in cases:
        response = post_form(office, "/admin/catalogue/new", {**NEW_PAMPHLET, **changes})
        html = response.get_data(as_text=True)
        assert response.status_code == 200, changes
        assert message in html, changes
        assert f'id="{field}-error"' in html, changes
        assert f'href="#{field}"' in html, changes  # the error summary links to the field
        assert "<title>Fejl:" in html
    assert count(db, Pamphlet) == 1
    assert audit_events(db) == []

    edit = post_form(office, f"/admin/catalogue/{SEED}", seed_values(max_per_order="0"))
    assert "Skriv et tal fra 1 til 10000." in edit.get_data(as_text=True)
    assert pamphlet(db).max_per_order == 50


def test_the_slug_cannot_be_changed_after_creation(office, db):
    page = office.get(f"/admin/catalogue/{SEED}").get_data(as_text=True)
    assert 'name="slug"' not in page
    response = post_form(office, f"/admin/catalogue/{SEED}", seed_values(), slug="noget-andet")
    assert response.status_code == 302
    assert pamphlet(db).slug == SEED
    assert office.get("/admin/catalogue/ukendt").status_code == 404


def test_saving_leaves_alone_a_stock_that_shipping_changed_meanwhile(office, db):
    set_pamphlet(db, stock=100)
    page = office.get(f"/admin/catalogue/{SEED}")
    fields = hidden_fields(page.get_data(as_text=True))
    assert fields["stock_shown"] == "100"
    set_pamphlet(db, stock=90)  # an order is shipped while the page is open

    untouched = {**fields, **seed_values(stock="100", max_per_order="40")}
    assert office.post(f"/admin/catalogue/{SEED}", data=untouched).status_code == 302
    assert (pamphlet(db).stock, pamphlet(db).max_per_order) == (90, 40)

    set_pamphlet(db, stock=80)  # shipped again; now the page's stock is changed by hand
    changed = {**fields, **seed_values(stock="500", max_per_order="40")}
    refused = office.post(f"/admin/catalogue/{SEED}", data=changed)
    assert refused.status_code == 200
    assert "Lageret er ændret, mens du redigerede" in refused.get_data(as_text=True)
    assert "der er nu 80 stk." in refused.get_data(as_text=True)
    assert pamphlet(db).stock == 80
    again = {**changed, **hidden_fields(refused.get_data(as_text=True))}
    assert again["stock_shown"] == "80"
    assert office.post(f"/admin/catalogue/{SEED}", data=again).status_code == 302
    assert pamphlet(db).stock == 500


def test_a_title_with_markup_comes_out_escaped(office, client, db):
    payload = '<script>alert("x")</script>'
    assert post_form(office, "/admin/catalogue/new", NEW_PAMPHLET, title=payload).status_code == 302
    for page in (office.get("/admin/catalogue/"), client.get("/pjecer/")):
        html = page.get_data(as_text=True)
        assert "&lt;script&gt;alert(" in html
        assert payload not in html


@pytest.mark.parametrize(
    "path", ["/admin/catalogue/new", f"/admin/catalogue/{SEED}"], ids=["new", "edit"]
)
def test_a_post_without_csrf_is_refused(office, db, path):
    response = office.post(path, data={**NEW_PAMPHLET, **seed_values(title="Ny titel")})
    assert response.status_code == 400
    assert "sikkerhedsnøglen manglede" in response.get_data(as_text=True)
    assert count(db, Pamphlet) == 1
    assert pamphlet(db).title == SEED_TITLE
    assert audit_events(db) == []


def test_anonymous_users_are_sent_to_sign_in(client, db):
    requests = [
        (client.get, "/admin/catalogue/"),
        (client.get, "/admin/catalogue/new"),
        (client.post, "/admin/catalogue/new"),
        (client.get, f"/admin/catalogue/{SEED}"),
        (client.post, f"/admin/catalogue/{SEED}"),
    ]
    for method, path in requests:
        response = method(path, data={**NEW_PAMPHLET, **seed_values(title="Ny titel")})
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/admin/login?next="), path
    assert pamphlet(db).title == SEED_TITLE
    assert count(db, Pamphlet) == 1


def test_admins_may_edit_the_catalogue_too(admin, db):
    response = post_form(admin, f"/admin/catalogue/{SEED}", seed_values(position="7"))
    assert response.status_code == 302
    assert audit_events(db)[0].actor == "it@bl.dk"


# The public form's stock rules.


def test_a_sold_out_pamphlet_is_shown_but_cannot_be_ordered(client, db):
    set_pamphlet(db, stock=0)
    html = client.get("/pjecer/").get_data(as_text=True)
    assert SEED_TITLE in html
    assert "Midlertidigt udsolgt" in html
    field = html[html.index('<input aria-describedby="quantity-kommunesamarbejde-hint"') :]
    assert field[: field.index(">")].count(" disabled") == 1

    response = submit(client, "/pjecer/", VALID_ORDER)  # a crafted post orders it anyway
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="quantity-kommunesamarbejde-error"' in html
    assert "Midlertidigt udsolgt: pjecen kan ikke bestilles lige nu." in html
    assert count(db) == 0 and count_jobs(db) == 0


def test_other_pamphlets_can_be_ordered_beside_a_sold_out_one(client, db):
    set_pamphlet(db, stock=0)
    db.add(Pamphlet(slug="styring", title="Styringsdialog", max_per_order=10, position=2))
    db.commit()

    nothing = submit(client, "/pjecer/", VALID_ORDER, **{f"quantity-{SEED}": None})
    html = nothing.get_data(as_text=True)
    assert 'id="quantity-styring-error"' in html  # beside the pamphlet that can be ordered
    assert "Skriv et antal ved mindst én pjece." in html

    ordered = submit(
        client, "/pjecer/", VALID_ORDER, **{f"quantity-{SEED}": None, "quantity-styring": "4"}
    )
    assert ordered.status_code == 303
    submission = db.scalars(select(Submission)).one()
    assert [(line.title, line.quantity) for line in submission.lines] == [("Styringsdialog", 4)]


def test_a_stock_below_the_maximum_caps_the_quantity(client, db):
    set_pamphlet(db, stock=12)
    assert "Højst 12 stk. – der er kun 12 på lager lige nu." in client.get("/pjecer/").get_data(
        as_text=True
    )

    refused = submit(client, "/pjecer/", VALID_ORDER, **{f"quantity-{SEED}": "13"})
    assert refused.status_code == 200
    assert (
        "Der er kun 12 på lager lige nu, så du kan bestille fra 0 til 12 stk."
        in refused.get_data(as_text=True)
    )
    assert count(db) == 0

    assert submit(client, "/pjecer/", VALID_ORDER, **{f"quantity-{SEED}": "12"}).status_code == 303
    assert count(db) == 1


def test_with_every_pamphlet_hidden_nothing_can_be_ordered(client, db):
    set_pamphlet(db, hidden=True)
    assert "Der er ingen pjecer at bestille lige nu." in client.get("/pjecer/").get_data(
        as_text=True
    )
    response = submit(client, "/pjecer/", VALID_ORDER)  # orders the hidden one anyway
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Fejl:" in html
    assert 'class="error-summary"' in html
    assert count(db) == 0 and count_jobs(db) == 0
