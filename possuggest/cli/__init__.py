"""The ``possuggest`` command line: a thin shell over :mod:`possuggest.services`."""

from possuggest.cli.main import main

__all__ = ["main"]
