"""The public forms as a GET shows them, rendered once and kept until what they show changes.

A blank form is the same for every visitor but for its tokens: the CSRF token (the visitor's
session) and the "form shown at" stamp (new on every GET). Rendering it, with 98
municipalities in a list and a field per pamphlet, is most of a GET's work; so each form is
rendered once with marks where the tokens go, and each GET fills them in. The page is rendered
again when its key changes: the catalogue it shows (a pamphlet added, hidden, renamed, or its
stock changed), the routing's version (its list of municipalities) and where the app is
mounted.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Mapping

from markupsafe import escape

# Marks that no rendering changes (letters and digits only, so escaping leaves them alone).
_MARK = "intakemark" + secrets.token_hex(8)


def _marks(names: Mapping[str, str]) -> dict[str, str]:
    return {name: f"{_MARK}{index}x" for index, name in enumerate(sorted(names))}


class BlankForms:
    """Per app (in `app.extensions[BlankForms.KEY]`): each form's page with its key."""

    KEY = "intake_blank_forms"

    def __init__(self) -> None:
        self._pages: dict[str, tuple[Hashable, dict[str, str], str]] = {}

    def show(
        self,
        name: str,
        key: Hashable,
        render: Callable[[Mapping[str, str]], str],
        tokens: Mapping[str, str],
        *,
        keep: bool = True,
    ) -> str:
        """The page `name` with these tokens (by field name); `render(tokens)` renders it.

        Requests running at once may both render a changed page; the last one's is kept, and
        both are right. A page in which a mark does not appear exactly once (a template that
        shows a token twice, or not at all) is never kept.
        """
        kept = self._pages.get(name)
        if kept is None or kept[0] != (key, tuple(sorted(tokens))):
            marks = _marks(tokens)
            page = render(marks)
            if not keep or any(page.count(mark) != 1 for mark in marks.values()):
                return render(tokens)
            kept = ((key, tuple(sorted(tokens))), marks, page)
            self._pages[name] = kept
        _, marks, page = kept
        for field, mark in marks.items():
            page = page.replace(mark, escape(tokens[field]))
        return page
