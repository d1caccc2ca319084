"""The routing file: the shipped default, its checks, and `flask intake routing check`."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from flask import Flask

from intake.routing.checker import default_routing_path, load_routing
from intake.routing.cli import check_report, routing_cli
from intake.routing.model import Consultant, Office, RoutingError
from tests.support.paths import ROOT

DATA = ROOT / "intake" / "data"


def read_csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


KOMMUNER = read_csv("kommuner.csv")
PROVISIONAL = read_csv("bl_kredse_provisional.csv")


@pytest.fixture(scope="module")
def routing():
    return load_routing()


# -- the shipped default -------------------------------------------------------------------


def test_default_path_is_the_packaged_file():
    assert default_routing_path() == DATA / "routing.toml"
    assert load_routing(None).source == DATA / "routing.toml"


def test_every_official_municipality_routes_to_exactly_one_consultant(routing):
    assert len(KOMMUNER) == 98
    assert set(routing.municipalities) == {row["kode"] for row in KOMMUNER}
    for row in KOMMUNER:
        route = routing.route(row["kode"])
        assert route.municipality.name == row["navn"]
        covering = [c for c in routing.consultants.values() if route.municipality.kreds in c.kredse]
        assert covering == [route.consultant], row


def test_default_file_holds_the_provisional_csv_unchanged(routing):
    assert len(PROVISIONAL) == 98
    for row in PROVISIONAL:
        m = routing.municipalities[row["kommunekode"]]
        assert (m.name, m.kreds, m.status, m.note) == (
            row["kommune"],
            int(row["kreds"]),
            row["status"],
            row["note"],
        )


def test_default_consultants_and_office_are_the_design_table(routing):
    assert routing.office == Office("Bjarne Werth", "bwj@bl.dk", "33762049")
    assert routing.consultants == {
        "taj": Consultant("taj", "Tage Jensen", "taj@bl.dk", "33762040", (1,), None),
        "jf": Consultant("jf", "John Frese", "jf@bl.dk", "33762034", (2, 9, 11), None),
        "jbh": Consultant("jbh", "Jens B. Hansen", "jbh@bl.dk", "87331062", (3, 4), None),
        "ns": Consultant("ns", "Niels Sørensen", "ns@bl.dk", "87331060", (5,), None),
        "lfi": Consultant("lfi", "Lisa Fischel", "lfi@bl.dk", "87331061", (6,), None),
        "sma": Consultant("sma", "Søren Madsen", "sma@bl.dk", "87331066", (7, 8, 10), None),
    }
    assert routing.warnings == ()


@pytest.mark.parametrize(
    ("code", "name", "kreds", "status", "consultant", "email"),
    [
        ("101", "København", 1, "confirmed", "Tage Jensen", "taj@bl.dk"),
        ("147", "Frederiksberg", 2, "guess", "John Frese", "jf@bl.dk"),
        ("173", "Lyngby-Taarbæk", 9, "inferred", "John Frese", "jf@bl.dk"),
        ("400", "Bornholm", 11, "guess", "John Frese", "jf@bl.dk"),
        ("461", "Odense", 3, "inferred", "Jens B. Hansen", "jbh@bl.dk"),
        ("540", "Sønderborg", 4, "guess", "Jens B. Hansen", "jbh@bl.dk"),
        ("751", "Aarhus", 5, "likely", "Niels Sørensen", "ns@bl.dk"),
        ("615", "Horsens", 6, "guess", "Lisa Fischel", "lfi@bl.dk"),
        ("760", "Ringkøbing-Skjern", 7, "guess", "Søren Madsen", "sma@bl.dk"),
        ("825", "Læsø", 8, "guess", "Søren Madsen", "sma@bl.dk"),
        ("791", "Viborg", 10, "guess", "Søren Madsen", "sma@bl.dk"),
    ],
)
def test_route_examples(routing, code, name, kreds, status, consultant, email):
    route = routing.route(code)
    assert route.municipality.code == code
    assert route.municipality.name == name
    assert route.municipality.kreds == kreds
    assert route.municipality.status == status
    assert route.consultant.name == consultant
    assert route.consultant.email == email
    assert routing.consultant_for_kreds(kreds) == route.consultant


def test_unknown_code_and_kreds_raise_key_error(routing):
    with pytest.raises(KeyError):
        routing.route("411")  # Christiansø: not a municipality
    with pytest.raises(KeyError):
        routing.consultant_for_kreds(12)


def test_choices_are_in_danish_alphabetical_order(routing):
    choices = routing.choices()
    names = [name for _, name in choices]
    assert len(choices) == 98
    assert choices[0] == ("580", "Aabenraa")
    assert choices[-1] == ("492", "Ærø")
    # æ, ø, å come after z, in that order: a plain code-point sort puts å before ø.
    assert names.index("Thisted") < names.index("Tønder") < names.index("Tårnby")
    assert names.index("Vordingborg") < names.index("Ærø")


def test_unconfirmed_lists_every_non_confirmed_row(routing):
    expected = sorted(row["kommunekode"] for row in PROVISIONAL if row["status"] != "confirmed")
    assert len(expected) == 97
    assert [m.code for m in routing.unconfirmed()] == expected


def test_check_report(routing):
    report = check_report(routing)
    lines = report.splitlines()
    assert lines.count("Unconfirmed entries (97):") == 1
    assert lines[-1] == "Problems: none"
    table_start = next(i for i, line in enumerate(lines) if line.startswith("kode"))
    assert lines[table_start].split() == ["kode", "kommune", "kreds", "konsulent", "status"]
    assert lines[table_start + 1].split() == [
        "101",
        "København",
        "1",
        "Tage",
        "Jensen",
        "confirmed",
    ]
    unconfirmed = lines[lines.index("Unconfirmed entries (97):") + 1 :][:97]
    assert all(line.startswith("  ") for line in unconfirmed)
    assert unconfirmed[0] == (
        "  147 Frederiksberg, kreds 2 (guess): Frederiksberg og Nordsjælland"
        " (det tidligere Frederiksborg Amt)"
    )
    assert any(line.startswith("  751 Aarhus, kreds 5 (likely): 5. kreds") for line in unconfirmed)
    assert not any(line.startswith("  101 ") for line in unconfirmed)


def test_moving_a_municipality_is_a_data_change(tmp_path):
    path = tmp_path / "routing.toml"
    text = default_routing_path().read_text(encoding="utf-8")
    old = '751 = { name = "Aarhus",            kreds = 5,  status = "likely",'
    assert old in text
    path.write_text(
        text.replace(old, '751 = { name = "Aarhus", kreds = 6, status = "confirmed",'),
        encoding="utf-8",
    )
    routing = load_routing(path)
    assert routing.route("751").consultant.email == "lfi@bl.dk"
    assert len(routing.unconfirmed()) == 96
    # Kreds 5 is now empty: allowed, but pointed out.
    assert any("consultant ns covers kreds 5, but no municipality" in w for w in routing.warnings)


# -- checking a file -----------------------------------------------------------------------

# The line numbers matter: the tests below expect the errors on these lines.
SMALL = """\
[pamphlet_office]
name = "Bjarne Werth"
email = "bwj@bl.dk"
phone = "33762049"

[consultants.taj]
name = "Tage Jensen"
email = "taj@bl.dk"
phone = "33762040"
kredse = [1]
salesforce_user_id = ""

[consultants.jf]
name = "John Frese"
email = "jf@bl.dk"
phone = "33762034"
kredse = [2, 9]
salesforce_user_id = ""

[municipalities]
101 = { name = "København", kreds = 1, status = "confirmed", note = "BL 1. kreds" }
147 = { name = "Frederiksberg", kreds = 2, status = "guess", note = "" }
151 = { name = "Ballerup", kreds = 9, status = "inferred", note = "old Københavns Amt" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routing.toml"
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert SMALL.count(old) == 1, old
    return SMALL.replace(old, new)


def test_small_file_loads_with_warnings_for_missing_municipalities(tmp_path):
    routing = load_routing(write(tmp_path, SMALL))
    assert routing.route("151").consultant.key == "jf"
    assert routing.route("151").municipality.note == "old Københavns Amt"
    assert len(routing.warnings) == 95
    assert (
        f"{tmp_path / 'routing.toml'}, line 20: municipality 461 (Odense) is missing;"
        " it cannot be chosen on the forms"
    ) in routing.warnings
    report = check_report(routing)
    assert "Unconfirmed entries (2):" in report
    assert "Problems (95):" in report
    assert "Problems: none" not in report
    assert "municipality 751 (Aarhus) is missing" in report


@pytest.mark.parametrize(
    ("old", "new", "line", "expected"),
    [
        pytest.param(
            'name = "John Frese"', 'name = "John Frese', 14, "not valid TOML", id="toml-syntax"
        ),
        pytest.param(
            '147 = { name = "Frederiksberg"',
            '101 = { name = "Frederiksberg"',
            22,
            "the same key appears twice",
            id="duplicate-code",
        ),
        pytest.param(
            'email = "bwj@bl.dk"\n', "\n", 1, "[pamphlet_office] has no email", id="office-no-email"
        ),
        pytest.param(
            'email = "bwj@bl.dk"',
            'email = "bwj(at)bl.dk"',
            3,
            "the pamphlet office has e-mail 'bwj(at)bl.dk', which is not a valid address",
            id="office-bad-email",
        ),
        pytest.param(
            'name = "John Frese"\n', "\n", 13, "consultant jf has no name", id="consultant-no-name"
        ),
        pytest.param(
            'email = "taj@bl.dk"\n',
            "\n",
            6,
            "consultant taj has no email",
            id="consultant-no-email",
        ),
        pytest.param(
            'email = "jf@bl.dk"',
            'email = "jf@bl"',
            15,
            "consultant jf has e-mail 'jf@bl', which is not a valid address",
            id="consultant-bad-email",
        ),
        pytest.param(
            "kredse = [2, 9]",
            "kredse = [1, 2, 9]",
            17,
            "kreds 1 is claimed by both consultant taj (line 6) and consultant jf",
            id="kreds-claimed-twice",
        ),
        pytest.param(
            "kredse = [2, 9]",
            'kredse = ["2", 9]',
            17,
            "consultant jf has kredse = ['2', 9]; it must be a list of kreds numbers",
            id="kredse-not-numbers",
        ),
        pytest.param(
            '151 = { name = "Ballerup"',
            '1510 = { name = "Ballerup"',
            23,
            "municipality 1510: a kommunekode must be exactly 3 digits",
            id="code-4-digits",
        ),
        pytest.param(
            '151 = { name = "Ballerup", ',
            "151 = { ",
            23,
            "municipality 151 has no name",
            id="municipality-no-name",
        ),
        pytest.param(
            'kreds = 9, status = "inferred"',
            'kreds = "9", status = "inferred"',
            23,
            "municipality 151 (Ballerup) has kreds '9'; it must be a whole number",
            id="kreds-not-int",
        ),
        pytest.param(
            'status = "inferred"',
            'status = "probable"',
            23,
            "municipality 151 (Ballerup) has status 'probable'; it must be one of 'confirmed',"
            " 'inferred', 'likely', 'guess'",
            id="bad-status",
        ),
        pytest.param(
            'kreds = 9, status = "inferred"',
            'kreds = 12, status = "inferred"',
            23,
            "municipality 151 (Ballerup) has kreds 12, but no consultant covers kreds 12",
            id="kreds-without-consultant",
        ),
        pytest.param(
            'salesforce_user_id = ""\n\n[consultants.jf]',
            'salesforce_user_id = "00Q000000000001"\n\n[consultants.jf]',
            11,
            "consultant taj has salesforce_user_id '00Q000000000001', which is not a Salesforce"
            " User Id",
            id="salesforce-lead-id-not-user-id",
        ),
        pytest.param(
            'salesforce_user_id = ""\n\n[municipalities]',
            'salesforce_user_id = "005ABC"\n\n[municipalities]',
            18,
            "consultant jf has salesforce_user_id '005ABC', which is not a Salesforce User Id",
            id="salesforce-user-id-too-short",
        ),
    ],
)
def test_bad_file_names_the_line_and_the_entry(tmp_path, old, new, line, expected):
    path = write(tmp_path, edited(old, new))
    with pytest.raises(RoutingError) as info:
        load_routing(path)
    message = str(info.value)
    assert f"{path}, line {line}" in message
    assert expected in message
    assert len(info.value.problems) == 1, message


def test_missing_pamphlet_office(tmp_path):
    text = SMALL.split("\n\n", 1)[1]
    assert not text.startswith("[pamphlet_office]")
    with pytest.raises(RoutingError, match=r"there is no \[pamphlet_office\] section"):
        load_routing(write(tmp_path, text))


def test_misspelt_section_is_shown_with_the_error(tmp_path):
    path = write(tmp_path, edited("[pamphlet_office]", "[pamphlet_ofice]"))
    with pytest.raises(RoutingError) as info:
        load_routing(path)
    assert info.value.problems == (
        f"{path}: there is no [pamphlet_office] section (name, email, phone)",
        f"{path}, line 1: unknown section or key 'pamphlet_ofice' is ignored (a misspelling?)",
    )


def test_every_problem_is_reported_at_once(tmp_path):
    text = edited('email = "jf@bl.dk"', 'email = ""').replace('status = "guess"', "status = 2")
    with pytest.raises(RoutingError) as info:
        load_routing(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("2 problems in the routing file:\n")
    assert "line 15: consultant jf has no email" in message
    assert "line 22: municipality 147 (Frederiksberg) has status 2" in message


@pytest.mark.parametrize("user_id", ["005000000000001", "005Dn000001a2b3AAA"])
def test_valid_salesforce_user_ids_are_kept(tmp_path, user_id):
    text = edited(
        'salesforce_user_id = ""\n\n[consultants.jf]',
        f'salesforce_user_id = "{user_id}"\n\n[consultants.jf]',
    )
    routing = load_routing(write(tmp_path, text))
    assert routing.consultants["taj"].salesforce_user_id == user_id
    assert routing.consultants["jf"].salesforce_user_id is None


def test_unreadable_file(tmp_path):
    with pytest.raises(RoutingError, match="cannot read the routing file"):
        load_routing(tmp_path / "nowhere.toml")


# -- flask intake routing check ------------------------------------------------------------


def run_check(routing_file):
    app = Flask(__name__)
    app.config["INTAKE_ROUTING_FILE"] = routing_file
    app.cli.add_command(routing_cli)
    return app.test_cli_runner().invoke(args=["routing", "check"])


@pytest.mark.parametrize("routing_file", [None, str(default_routing_path())])
def test_cli_check_default_file(routing_file):
    result = run_check(routing_file)
    assert result.exit_code == 0, result.output
    assert "Unconfirmed entries (97):" in result.stdout
    assert "751   Aarhus" in result.stdout
    assert result.stdout.rstrip().endswith("Problems: none")
    assert result.stderr == ""


def test_cli_check_bad_file(tmp_path):
    path = write(tmp_path, edited('kreds = 9, status = "inferred"', 'kreds = 12, status = "x"'))
    result = run_check(path)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{path}, line 23: municipality 151 (Ballerup) has status 'x'" in result.stderr
    assert f"{path}, line 23: municipality 151 (Ballerup) has kreds 12" in result.stderr


def test_cli_check_copy_of_default_in_instance_folder(tmp_path):
    path = tmp_path / "routing.toml"
    shutil.copy(default_routing_path(), path)
    result = run_check(path)
    assert result.exit_code == 0
    assert f"Routing file: {path}" in result.stdout
