#!/usr/bin/env python3
"""The operator console, ``python tui.py [--config FILE] [--replay INPUT...] [--demo]``.

The Textual console is tracked as its own issue and is not built yet; until it lands this
launcher says so and points at what works today.
"""

import sys

if __name__ == "__main__":
    print("airwatch: the operator console is not built yet.\n"
          "Decode a capture meanwhile: airwatch decode --pretty captures/demo.pcapng", file=sys.stderr)
    raise SystemExit(2)
