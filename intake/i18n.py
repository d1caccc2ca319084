"""English beside Danish on the public pages (Flask-Babel).

Danish is the source language: the messages in templates and code are Danish, and
`intake/translations/en/LC_MESSAGES/messages.po` gives their English. Which language a public
page is in:

1. `?lang=en` or `?lang=da` on any public URL (and the choice is kept in a cookie);
2. otherwise the cookie of an earlier choice;
3. otherwise the browser's Accept-Language, Danish when in doubt.

The back office, /healthz and the command line are always Danish, and so is anything rendered
outside a request (the worker), unless it says otherwise with `flask_babel.force_locale` (the
requester's e-mails, in the language the requester used: `Submission.language`).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_babel, get_locale
from werkzeug.wrappers import Response

from intake.paths import TRANSLATIONS_DIR
from intake.web.blueprints import ADMIN, OPS

DANISH = "da"
ENGLISH = "en"
LANGUAGES = (DANISH, ENGLISH)
COOKIE = "intake_lang"
COOKIE_MAX_AGE_SECONDS = 365 * 24 * 3600
_PATH_SAFE = "/:@!$&'()*+,;=-._~"  # RFC 3986's path characters, kept as they are
# The link to the other language, in that language: (its code, its name).
SWITCH = {DANISH: (ENGLISH, "English"), ENGLISH: (DANISH, "Dansk")}


def _danish_only() -> bool:
    """The back office and the health endpoints stay Danish, also their 404s."""
    if request.blueprint in (ADMIN, OPS):
        return True
    admin = (current_app.config.get("INTAKE_URL_PREFIX") or "") + "/admin"
    return request.path == admin or request.path.startswith(admin + "/")


def chosen_by_query() -> str | None:
    """The language `?lang=` asks for, if it is one we have."""
    value = request.args.get("lang", "")
    return value if value in LANGUAGES else None


def select_locale() -> str:
    """Flask-Babel's locale selector: the public page's language (see the module's doc)."""
    if not has_request_context() or _danish_only():
        return DANISH
    chosen = chosen_by_query() or request.cookies.get(COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default=DANISH) or DANISH


def current_language() -> str:
    """The language being rendered now: "da" or "en"."""
    locale = get_locale()
    return ENGLISH if locale is not None and locale.language == ENGLISH else DANISH


def language_switch() -> dict[str, str] | None:
    """The link to this page in the other language (a Jinja global): its code, name and URL.
    The URL is the page's own path with only `?lang=`, so it is the same for every visitor.
    None where there is no other language (the back office's error pages)."""
    if _danish_only():
        return None
    code, name = SWITCH[current_language()]
    # The path as a path on this site, whatever was asked for: percent-encoded, and one
    # leading slash (a 404 for "//elsewhere.example/" must not link to another host).
    path = "/" + quote(request.path, safe=_PATH_SAFE).lstrip("/")
    return {"lang": code, "name": name, "url": f"{request.script_root}{path}?lang={code}"}


def remember_choice(response: Response) -> Response:
    """After a public page: keep a `?lang=` choice in a cookie, and tell caches that the
    page's language depends on the cookie and Accept-Language."""
    if (
        not has_request_context()
        or _danish_only()
        or "Content-Language" in response.headers  # (the app's handler after the blueprint's)
        or (request.endpoint or "").endswith(".static")  # the same in every language
    ):
        return response
    chosen = chosen_by_query()
    if chosen is not None and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_MAX_AGE_SECONDS,
            path=(current_app.config.get("INTAKE_URL_PREFIX") or "") or "/",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            httponly=True,
            samesite="Lax",
        )
    response.vary.update(("Accept-Language", "Cookie"))
    response.headers["Content-Language"] = current_language()
    return response


def init_app(app: Flask) -> None:
    """Flask-Babel with our locale selector and catalogues. A host app that has set up
    Flask-Babel itself keeps its own locale selector; our catalogues are added to its."""
    if "babel" in app.extensions:
        directories = get_babel(app).translation_directories
        if str(TRANSLATIONS_DIR) not in directories:
            directories.append(str(TRANSLATIONS_DIR))
    else:
        Babel(
            app,
            locale_selector=select_locale,
            default_locale=DANISH,
            default_translation_directories=str(TRANSLATIONS_DIR),
        )
    # {% trans %} blocks collapse their line breaks and indentation, as pybabel extracts them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.add_template_global(language_switch, "intake_language_switch")
    app.add_template_global(current_language, "intake_language")
