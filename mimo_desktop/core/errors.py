"""Errors the user sees. Every message is a sentence a person can act on."""


class MimoError(Exception):
    """Base of every error whose message is meant for the user, not a traceback."""


class StoreError(MimoError):
    """The conversation database could not be read or written."""
