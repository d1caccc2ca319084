"""Submissions as the public sends them: valid pamphlet orders and start-up requests (æ, ø
and å in the values), and a burst of them from concurrent clients, each of which shows the
form (GET, for its CSRF token, form token and session cookie) and then posts it, on a
schedule. Every answer is kept as a `Post` for the checks (bench/audit.py).

Used by bench/burst.py, bench/crm.py and the fault test (tests/system/test_database_restart.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from itsdangerous import URLSafeSerializer

from bench.common import TIMEOUT, BenchError, FreshForm, describe, post_form, read_form

ORDER, HELP = "pamphlet_order", "startup_help"  # intake_submissions.kind
PATHS = {ORDER: "/pjecer/", HELP: "/opstartshjaelp/"}
EMAILS_PER_KIND = {ORDER: 3, HELP: 2}  # order: office, consultant, requester; help: the last 2

CONTACT: dict[str, str] = {
    "organisation": "Boligselskabet Søbo",
    "first_name": "Åse",
    "last_name": "Bøgh",
    "phone": "33762040",
    "role": "Forretningsfører",
    "municipality": "101",
}
# Valid forms (DESIGN.md, "Fields"; tests/support/helpers.py); each POST adds its own "email".
FORM_DATA: dict[str, dict[str, str | list[str]]] = {
    ORDER: {
        **CONTACT,
        "quantity-kommunesamarbejde": "5",
        "street": "Søndergade 1",
        "postcode": "8000",
        "city": "",
    },
    HELP: {
        **CONTACT,
        "topics": ["styringsdialog", "forsyning_takster"],
        "existing_cooperation": "no",
        "participants": "Søbo Boligforening",
        "message": "Vi vil gerne i gang med et samarbejde med kommunen – hvor starter vi?",
    },
}


def kind_of(index: int) -> str:
    """Alternately a pamphlet order and a start-up request."""
    return ORDER if index % 2 == 0 else HELP


def address(tag: str, index: int) -> str:
    return f"{tag}-{index:04d}@example.dk"


def token_payload(token: str) -> Any:
    """What a token of the app's (itsdangerous) carries, read without checking its signature:
    the checks only sort answers by it, the app has checked it."""
    _valid, payload = URLSafeSerializer("").loads_unsafe(token)
    return payload


@dataclass
class Post:
    """One submission's way through the web: its form shown, then posted."""

    index: int
    kind: str
    form_status: int | None = None  # the GET's status; None: no answer
    status: int | None = None  # the POST's; None: not posted (no form) or no answer
    submission_key: str = ""  # the key in its form token (intake_submissions.submission_key)
    public_id: str = ""  # from the receipt link a 303 points to
    form_seconds: float = 0.0
    seconds: float = 0.0  # the POST, sent → answered
    sent_at: float = 0.0  # time.monotonic() when the POST (else the GET) was sent
    answered_at: float = 0.0  # time.monotonic() when the last answer came
    page: str = ""  # the body of an answer other than the form (200) or the receipt (303)
    error: str | None = None  # what went wrong, for the report

    @property
    def accepted(self) -> bool:
        return self.status == 303

    @property
    def outcome(self) -> str:
        """How it ended: "303", "503", "GET 503" (the form was not shown), "no answer"."""
        if self.status is not None:
            return str(self.status)
        if self.form_status not in (None, 200):
            return f"GET {self.form_status}"
        return "no answer"


def _show(session: requests.Session, url: str, post: Post) -> FreshForm | None:
    started, post.sent_at = time.perf_counter(), time.monotonic()
    try:
        response = session.get(url, timeout=TIMEOUT)
    except requests.RequestException as exc:
        post.error = f"GET {url}: {type(exc).__name__}: {exc}"
        return None
    finally:
        post.form_seconds = time.perf_counter() - started
        post.answered_at = time.monotonic()
    post.form_status = response.status_code
    try:
        form = read_form(response, session)
    except BenchError as exc:  # not the form: keep the page the person saw instead
        post.page, post.error = response.text, str(exc)
        return None
    post.submission_key = str(token_payload(form.tokens["form_token"]).get("k", ""))
    return form


def _send(session: requests.Session, url: str, form: FreshForm, post: Post, tag: str) -> None:
    data = {**FORM_DATA[post.kind], "email": address(tag, post.index)}
    started, post.sent_at = time.perf_counter(), time.monotonic()
    try:
        response = post_form(session, url, form, data)
    except requests.RequestException as exc:
        post.error = f"POST {url}: {type(exc).__name__}: {exc}"
        return
    finally:
        post.seconds = time.perf_counter() - started
        post.answered_at = time.monotonic()
    post.status = response.status_code
    location = response.headers.get("Location", "")
    if post.accepted and "/kvittering/" in location:
        post.public_id = str(token_payload(location.rsplit("/", 1)[-1]))
    else:
        post.page = response.text
        post.error = f"POST {url}: {describe(response)}"


class Burst:
    """Up to `count` submissions, alternately orders and start-up requests, from `clients`
    threads (one requests.Session each). Submission i is posted no earlier than i / `rate`
    seconds after the start; its form is shown as soon as a client is free for it, so a
    form is filled in for up to about clients / rate seconds, as people take their time.

    start() returns at once; wait() until all are answered, stop() ends it early. `posts`
    grows as answers come (read it under `lock`, or after wait()).
    """

    def __init__(self, base_url: str, count: int, rate: float, clients: int, tag: str) -> None:
        self.base_url = base_url
        self.count = count
        self.rate = rate
        self.tag = tag  # e-mail addresses are <tag>-NNNN@example.dk
        self.posts: list[Post] = []
        self.lock = threading.Lock()
        self.started_at = 0.0  # time.monotonic() of the first scheduled post
        self._next = iter(range(count))
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, name=f"client-{n}", daemon=True)
            for n in range(clients)
        ]

    def start(self) -> Burst:
        self.started_at = time.monotonic()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.wait()

    def wait(self) -> list[Post]:
        for thread in self._threads:
            thread.join()
        return self.posts

    def answered(self, condition: Callable[[Post], bool] = lambda post: True) -> int:
        """How many answered posts meet `condition` so far."""
        with self.lock:
            return sum(1 for post in self.posts if condition(post))

    def _client(self) -> None:
        with requests.Session() as session:
            while not self._stopping.is_set():
                with self.lock:
                    index = next(self._next, None)
                if index is None:
                    return
                post = Post(index, kind_of(index))
                url = self.base_url + PATHS[post.kind]
                form = _show(session, url, post)
                due = self.started_at + index / self.rate
                if form is not None and not self._stopping.wait(max(0.0, due - time.monotonic())):
                    _send(session, url, form, post, self.tag)
                elif form is not None:
                    return  # stopped while the form was being filled in: never sent
                with self.lock:
                    self.posts.append(post)
