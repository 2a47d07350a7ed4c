"""The error types possuggest raises for bad input: each carries a one-line message for the user."""

from __future__ import annotations


class PossuggestError(Exception):
    """Base class: ``str(err)`` is a one-line message that names the problem."""

    exit_code = 2


class ConfigError(PossuggestError):
    """The configuration file holds a bad value; the message names the key."""


class TillError(PossuggestError):
    """The till database cannot be read: missing, not SQLite, locked, or a mapped column is absent."""


class RuleStoreError(PossuggestError):
    """possuggest's own database is unusable or has no rule set where one is needed."""


class InputFileError(PossuggestError):
    """A sales file given to ``evaluate`` cannot be read."""


class Cancelled(PossuggestError):
    """Long work stopped because the ``cancelled`` callback said so."""

    exit_code = 130
