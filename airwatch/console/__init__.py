"""The operator console (Textual): ``python tui.py`` or ``airwatch tui``."""
