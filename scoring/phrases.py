"""Phrase matching: case-insensitive, on word boundaries, tolerant of curly apostrophes."""

from __future__ import annotations

import re
from collections.abc import Iterable

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of the phrases as whole words; None for an empty list."""
    parts = sorted(
        {
            r"\s+".join(re.escape(w) for w in p.translate(_APOSTROPHES).split())
            for p in phrases
            if p.strip()
        },
        key=len,
        reverse=True,
    )
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def normalized_text(text: str) -> str:
    """Text ready for matching (curly apostrophes made straight)."""
    return text.translate(_APOSTROPHES)


def mentions(pattern: re.Pattern[str] | None, text: str) -> bool:
    """True when the (normalized) text contains one of the pattern's phrases."""
    return pattern is not None and pattern.search(text) is not None
