"""The settings dialog and its sampling form."""
