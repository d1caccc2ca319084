"""The Salesforce login settings as tables: https only, the JWT audience Salesforce requires,
and what `crm check` says cannot work before it tries."""

from __future__ import annotations

import pytest

from crm_sync.check import login_problems
from crm_sync.config import default_jwt_audience, load_config
from tests.support.settings import SALESFORCE_SETTINGS

BASE = SALESFORCE_SETTINGS
CLIENT_CREDENTIALS = {"SALESFORCE_CLIENT_ID": "c", "SALESFORCE_CLIENT_SECRET": "s"}
JWT = {"SALESFORCE_CLIENT_ID": "c", "SALESFORCE_USERNAME": "u", "SALESFORCE_PRIVATE_KEY_FILE": "k"}
PASSWORD = {**CLIENT_CREDENTIALS, "SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p"}


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://bl.my.salesforce.com", "https://login.salesforce.com"),  # My Domain: still
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://bl--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://127.0.0.1:8443", "https://login.salesforce.com"),  # the emulator
    ],
)
def test_the_jwt_audience_is_the_one_salesforce_requires(login_url, audience):
    assert default_jwt_audience(login_url) == audience
    config = load_config({**BASE, **JWT, "SALESFORCE_LOGIN_URL": login_url})
    assert config is not None and config.jwt_audience == audience


def test_an_audience_can_be_set_for_an_experience_cloud_site():
    site = "https://bl.my.site.com/boligorganisationer"
    config = load_config(
        {
            **BASE,
            **JWT,
            "SALESFORCE_LOGIN_URL": "https://bl.my.salesforce.com",
            "SALESFORCE_JWT_AUDIENCE": site + "/",
        }
    )
    assert config is not None and config.jwt_audience == site


@pytest.mark.parametrize(
    "login_url", ["http://login.salesforce.com", "login.salesforce.com", "ftp://x", "https://"]
)
@pytest.mark.parametrize("credentials", [{}, CLIENT_CREDENTIALS])
def test_a_login_url_that_is_not_https_stops_the_start(login_url, credentials):
    with pytest.raises(RuntimeError, match=r"SALESFORCE_LOGIN_URL .* must be an https:// URL"):
        load_config({**BASE, **credentials, "SALESFORCE_LOGIN_URL": login_url})


@pytest.mark.parametrize(
    ("credentials", "login_url", "extra", "problem"),
    [
        (CLIENT_CREDENTIALS, "https://login.salesforce.com", {}, "only against the org's My"),
        (CLIENT_CREDENTIALS, "https://test.salesforce.com", {}, "only against the org's My"),
        (CLIENT_CREDENTIALS, "https://bl.my.salesforce.com", {}, None),
        (JWT, "https://bl.my.salesforce.com", {}, None),
        (
            JWT,
            "https://bl.my.salesforce.com",
            {"SALESFORCE_JWT_AUDIENCE": "https://bl.my.salesforce.com"},
            "wants the JWT's aud to be https://login.salesforce.com",
        ),
        (
            JWT,
            "https://bl--uat.sandbox.my.salesforce.com",
            {"SALESFORCE_JWT_AUDIENCE": "https://login.salesforce.com"},
            "wants the JWT's aud to be https://test.salesforce.com",
        ),
        (PASSWORD, "https://login.salesforce.com", {}, None),
    ],
)
def test_crm_check_says_when_the_login_url_cannot_work_for_the_flow(
    credentials, login_url, extra, problem
):
    config = load_config({**BASE, **credentials, **extra, "SALESFORCE_LOGIN_URL": login_url})
    assert config is not None
    problems = login_problems(config)
    if problem is None:
        assert problems == []
    else:
        (found,) = problems
        assert problem in found
