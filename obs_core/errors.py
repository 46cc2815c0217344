"""Errors a user can fix. Pages catch ``ObsError`` and show ``user_message`` (and ``hint``)."""

from __future__ import annotations


class ObsError(Exception):
    """Something the user can fix: a bad file, a bad schema, too little data.

    ``user_message`` names the problem in plain words; ``hint`` says what to do about it.
    """

    def __init__(self, user_message: str, hint: str | None = None):
        super().__init__(user_message if not hint else f"{user_message} ({hint})")
        self.user_message = user_message
        self.hint = hint


class InputError(ObsError):
    """A file could not be read: wrong format, truncated, malformed, empty."""


class LimitExceeded(InputError):
    """A file is larger (bytes or rows) than the configured limit."""


class SchemaError(ObsError):
    """The schema does not fit the data (missing column, wrong type, invalid role)."""


class FilterError(ObsError):
    """A filter names an unknown column, an unknown operator or a value of the wrong type."""


class NotEnoughData(ObsError):
    """A computation needs more rows (or a reference) than it has."""
