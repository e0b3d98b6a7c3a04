"""The drone signature rules airwatch ships, plus the user's, as one matcher."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

from airwatch.decoders.signatures import SignatureMatcher, SignatureRule, rule_from_dict

DATA_FILE = "drone_signatures.toml"


def default_rules() -> list[SignatureRule]:
    text = resources.files("airwatch.data").joinpath(DATA_FILE).read_text("utf-8")
    raw = tomllib.loads(text)
    return [rule_from_dict(r, f"{DATA_FILE} rule {i + 1}") for i, r in enumerate(raw.get("rule", []))]


@lru_cache(maxsize=1)
def default_matcher() -> SignatureMatcher:
    return SignatureMatcher(default_rules())


def matcher_with(extra: list[dict[str, Any]], where: str = "config.toml") -> SignatureMatcher:
    """The shipped rules plus ``extra`` ones (a user rule with a shipped id replaces it)."""
    if not extra:
        return default_matcher()
    added = [rule_from_dict(r, f"{where} [[signatures]] {i + 1}") for i, r in enumerate(extra)]
    ids = {r.id for r in added}
    return SignatureMatcher([r for r in default_rules() if r.id not in ids] + added)
