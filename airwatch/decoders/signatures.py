"""Wi-Fi signatures of drones that send no Remote ID: MAC prefix and SSID rules.

Rules come from ``airwatch/data/drone_signatures.toml`` (seeded from Kismet's UAV table and
public OUI lists; loaded by :mod:`airwatch.signature_rules`) plus any the user adds in
``config.toml``.  Kismet's semantics: a rule that
gives both an OUI list and an SSID pattern needs both to match, unless ``match_any``.

A :class:`SignatureMatcher` is built once; its :meth:`~SignatureMatcher.match` is called only
for beacons and probe responses, and rejects most frames with one set lookup and one compiled
regular expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ROLES = ("drone", "operator")


class SignatureError(ValueError):
    """A signature rule that cannot be used."""


@dataclass(frozen=True, slots=True)
class SignatureRule:
    id: str
    maker: str
    model: str
    ssid: str | None  # regular expression, matched at the start of the SSID
    ouis: tuple[str, ...]  # "aa:bb:cc" (24-bit) or "aa:bb:cc:d" (28-bit)
    match_any: bool = False
    role: str = "drone"
    confidence: float = 0.5

    @property
    def label(self) -> str:
        return f"{self.maker} {self.model}".strip()


def _prefix(text: str, where: str) -> str:
    hexdigits = text.lower().replace(":", "").replace("-", "")
    if len(hexdigits) not in (6, 7) or any(c not in "0123456789abcdef" for c in hexdigits):
        raise SignatureError(f"{where}: {text!r} is not a MAC prefix like 60:60:1f or ec:5b:cd:e")
    return hexdigits


def rule_from_dict(raw: dict[str, Any], where: str) -> SignatureRule:
    known = {"id", "maker", "model", "ssid", "ouis", "match_any", "role", "confidence"}
    unknown = set(raw) - known
    if unknown:
        raise SignatureError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(raw.get("id"), str) or not raw["id"]:
        raise SignatureError(f"{where}: every rule needs an id")
    ssid = raw.get("ssid")
    if ssid is not None:
        try:
            re.compile(ssid)
        except (re.error, TypeError) as e:
            raise SignatureError(f"{where} ({raw['id']}): ssid is not a regular expression: {e}") from None
    ouis = raw.get("ouis", [])
    if not isinstance(ouis, list):
        raise SignatureError(f"{where} ({raw['id']}): ouis must be a list")
    if ssid is None and not ouis:
        raise SignatureError(f"{where} ({raw['id']}): a rule needs an ssid, ouis, or both")
    role = raw.get("role", "drone")
    if role not in ROLES:
        raise SignatureError(f"{where} ({raw['id']}): role must be one of {', '.join(ROLES)}")
    confidence = raw.get("confidence", 0.5)
    if not isinstance(confidence, int | float) or not 0.0 <= confidence <= 1.0:
        raise SignatureError(f"{where} ({raw['id']}): confidence must be a number from 0 to 1")
    return SignatureRule(id=raw["id"], maker=str(raw.get("maker", "")), model=str(raw.get("model", "")),
                         ssid=ssid, ouis=tuple(_prefix(o, f"{where} ({raw['id']})") for o in ouis),
                         match_any=bool(raw.get("match_any", False)), role=role, confidence=float(confidence))


_GLOBAL_FLAGS = re.compile(r"^\(\?([aiLmsux]+)\)")


def _scoped(pattern: str) -> str:
    """``(?i)abc`` as ``(?i:abc)``, so patterns can be joined into one alternation."""
    m = _GLOBAL_FLAGS.match(pattern)
    if m:
        return f"(?{m.group(1)}:{pattern[m.end():]})"
    return f"(?:{pattern})"


class SignatureMatcher:
    """Finds the best signature rule for a transmitter address and SSID."""

    def __init__(self, rules: list[SignatureRule]) -> None:
        self.rules = rules
        self._by_prefix: dict[str, list[SignatureRule]] = {}
        for rule in rules:
            for p in rule.ouis:
                self._by_prefix.setdefault(p, []).append(rule)
        self._ssid_rules = [r for r in rules if r.ssid is not None]
        patterns = [_scoped(r.ssid) for r in self._ssid_rules if r.ssid is not None]
        self._any_ssid = re.compile("|".join(patterns)) if patterns else None
        self._compiled = {r.id: re.compile(r.ssid) for r in self._ssid_rules}
        #: 3-byte OUIs that may start a match, for the decoder's first test
        self.ouis = frozenset(bytes.fromhex(p[:6]) for p in self._by_prefix)

    def could_match(self, mac: bytes, ssid: bytes) -> bool:
        """The cheap test: could any rule match?  ``mac`` is the 6 address bytes."""
        if mac[:3] in self.ouis:
            return True
        return bool(ssid) and self._any_ssid is not None and \
            self._any_ssid.match(ssid.decode("utf-8", "replace")) is not None

    def match(self, mac: str, ssid: str | None) -> SignatureRule | None:
        """The most confident rule matching ``mac`` ("aa:bb:cc:dd:ee:ff") and ``ssid``."""
        hexmac = mac.replace(":", "")
        best: SignatureRule | None = None
        candidates = self._by_prefix.get(hexmac[:6], []) + self._by_prefix.get(hexmac[:7], [])
        for rule in candidates + self._ssid_rules:
            oui_ok = hexmac[:len(rule.ouis[0])] in rule.ouis if rule.ouis else None
            if rule.ouis and not oui_ok:
                oui_ok = any(hexmac.startswith(p) for p in rule.ouis)
            ssid_ok = (self._compiled[rule.id].match(ssid) is not None) if rule.ssid is not None and ssid else (
                None if rule.ssid is None else False)
            if rule.ouis and rule.ssid is not None:
                hit = (oui_ok or ssid_ok) if rule.match_any else (oui_ok and ssid_ok)
            else:
                hit = bool(oui_ok if rule.ouis else ssid_ok)
            if hit and (best is None or rule.confidence > best.confidence):
                best = rule
        return best
