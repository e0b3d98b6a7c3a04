#!/usr/bin/env python3
"""The operator console: ``python tui.py [--config FILE] [--replay INPUT...] [--demo]``.

The same as ``airwatch tui``.  ``--demo`` replays the bundled demo (no radio, no server);
``--replay`` replays captures and recordings; with neither it watches live, from the
``[[sources]]`` in the config (one process) or from a correlator over MQTT (``[mqtt]``).
"""

import sys

from airwatch.console.cli import main

if __name__ == "__main__":
    sys.exit(main())
