"""The conversation list and how its rows are drawn."""
