"""Alert rules, one module per alert type.

Each rule looks at a contact as it arrives (``on_contact``) and/or at the whole picture once a
second of capture time (``on_tick``), and returns :class:`~airwatch.correlator.alerts.Finding`
objects; the alert manager decides what is a new alert.  Rule ids follow the catalogue in
``docs/alerts.md`` (from ../shared/reference/detection-rules.md).
"""

from airwatch.correlator.rules.base import Context, Rule

__all__ = ["Context", "Rule"]
