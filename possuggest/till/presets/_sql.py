"""Small SQL fragments the presets write once per dialect."""

from __future__ import annotations


def as_text(expr: str, dialect: str) -> str:
    """A number as text, the same digits on every dialect (PostgreSQL's CHAR is one
    character, so TEXT there; MySQL has no CAST AS TEXT)."""
    return f"CAST({expr} AS CHAR)" if dialect == "mysql" else f"CAST({expr} AS TEXT)"


def any_store(dialect: str) -> str:
    """True when no store is set (``till.store`` empty): ``:store`` typed where PostgreSQL
    could not tell its type."""
    return "CAST(:store AS TEXT) = ''" if dialect == "postgresql" else ":store = ''"


def quoted(name: str, dialect: str) -> str:
    """A table name with spaces or capitals (ERPNext's ``tabPOS Invoice``)."""
    return f"`{name}`" if dialect == "mysql" else f'"{name}"'
