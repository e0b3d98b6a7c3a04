"""airwatch: a passive airspace monitor for small drones and the manned aircraft around them."""

__version__ = "0.1.0"
