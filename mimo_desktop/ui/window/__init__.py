"""The main window and what it is made of: layout, theme, first-run panel, controller, sending."""
