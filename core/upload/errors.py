"""The one exception an upload can end in, kept apart so every upload module can raise it."""

from __future__ import annotations

from collections.abc import Iterable


class UploadError(Exception):
    """An uploaded file cannot be used; ``str(error)`` says what was wrong and what to upload instead.

    The message is shown verbatim to clinicians, so it is plain language, never a traceback.
    """


def name_list(names: Iterable[object], limit: int = 3) -> str:
    """'a, b, c and 4 more': messages name the offending samples or genes without flooding the screen."""
    shown = [str(name) for name in names]
    return ", ".join(shown[:limit]) + (f" and {len(shown) - limit} more" if len(shown) > limit else "")
