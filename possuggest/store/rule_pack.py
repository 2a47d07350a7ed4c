"""Rule packs: the rules head office mines for one store (``possuggest chain mine``), in one
file the store loads offline (``possuggest rules import``).

A pack is a zip file holding

* ``manifest.json`` -- ``format`` (:data:`FORMAT`), ``version`` (:data:`VERSION`), the store
  and its region, when and by which possuggest it was made, the mining parameters, one entry
  per *scope* (``store``, ``region``, ``chain``: what each was mined on) and, per data file, its
  name, row count and SHA-256;
* ``rules.csv`` (scope + the miner's rule columns; a multi-item antecedent's SKUs are joined by
  a tab), ``item_counts.csv`` (scope, sku, count, support), ``context_counts.csv`` (scope,
  bucket, sku, count) and ``products.csv`` (the store's catalogue the rules were mined on);
* ``SHA256`` -- the hex SHA-256 over the bytes of ``manifest.json`` followed by every data
  file's bytes, in the manifest's order: the pack's checksum.

:func:`read_pack` checks the format and version first (a pack from a newer possuggest is
refused by name), then the checksum, then each file's own checksum, before it parses anything:
a damaged or altered pack raises :class:`PackError` with one line and nothing is loaded.
:func:`write_pack` writes under a temporary name in the same folder and moves the file into
place only when it is complete.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from possuggest.core.errors import PossuggestError
from possuggest.core.products import Product

log = logging.getLogger(__name__)

FORMAT = "possuggest-rule-pack"
VERSION = 1
SEP = "\t"                        # antecedent item separator (as in the rule store)
SCOPES = ("store", "region", "chain")
MANIFEST = "manifest.json"
CHECKSUM = "SHA256"

RULE_FILE_COLUMNS = ["scope", "kind", "antecedent", "consequent", "count", "support",
                     "confidence", "lift", "leverage", "conviction", "antecedent_count",
                     "consequent_count", "weight"]
ITEM_COLUMNS = ["scope", "sku", "count", "support"]
CONTEXT_COLUMNS = ["scope", "bucket", "sku", "count"]
PRODUCT_COLUMNS = ["sku", "name", "category", "family", "price", "cost", "stock", "active"]
# text columns: read as text whatever they hold ("NA", "1e5" and "" are SKUs too)
_TEXT = {"scope", "kind", "antecedent", "consequent", "sku", "name", "category", "family"}
_FILES = {"rules.csv": RULE_FILE_COLUMNS, "item_counts.csv": ITEM_COLUMNS,
          "context_counts.csv": CONTEXT_COLUMNS, "products.csv": PRODUCT_COLUMNS}
_MAX_MEMBER = 8 << 30             # refuse absurd sizes before reading (a zip bomb)


class PackError(PossuggestError):
    """A rule pack cannot be used: not a pack, a newer format, damaged or altered. One line."""


@dataclass
class RulePack:
    """A verified pack, parsed. ``rules`` has :data:`RULE_FILE_COLUMNS` with ``antecedent``
    as a tuple of SKUs; ``context_counts`` is empty when the store's sales had no times."""

    path: Path
    manifest: dict[str, Any]
    rules: Any                    # pandas DataFrame
    item_counts: Any              # pandas DataFrame
    context_counts: Any           # pandas DataFrame
    products: dict[str, Product] = field(default_factory=dict)
    checksum: str = ""

    @property
    def store(self) -> str:
        return str(self.manifest.get("store", ""))

    @property
    def region(self) -> str | None:
        r = self.manifest.get("region")
        return None if r in (None, "") else str(r)

    def scope_info(self, scope: str) -> dict[str, Any]:
        """What the scope was mined on (``n_baskets``, ``n_items``, window, params); {} when
        the pack has no such scope."""
        info = self.manifest.get("scopes", {}).get(scope)
        return dict(info) if isinstance(info, dict) else {}

    def scope(self, scope: str) -> tuple[Any, Any, Any]:
        """(rules, item counts, context counts) of one scope, without the scope column."""
        def part(df: Any) -> Any:
            return df[df["scope"] == scope].drop(columns="scope").reset_index(drop=True)

        return part(self.rules), part(self.item_counts), part(self.context_counts)


def _csv_bytes(df: Any, columns: list[str]) -> bytes:
    """The frame as CSV (floats written so they read back exactly; inf as 'inf', NaN empty):
    with pyarrow's writer when it is there (head office has it with Spark; ten times
    faster), else pandas'. Both quote text as needed; :func:`read_pack` reads either."""
    frame = df[columns]
    if _arrow_csv():
        import pyarrow as pa
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), buf)
        return buf.getvalue()
    return str(frame.to_csv(index=False, lineterminator="\n")).encode("utf-8")


def _arrow_csv() -> bool:
    try:
        import pyarrow.csv  # noqa: F401
    except ImportError:
        return False
    return True


def write_pack(path: str | Path, manifest: Mapping[str, Any], rules: Any, item_counts: Any,
               context_counts: Any, products: Iterable[Product]) -> str:
    """Write one pack to ``path`` (replaced atomically) and return its checksum.

    ``rules`` has :data:`RULE_FILE_COLUMNS` (``antecedent`` a tuple of SKUs or tab-joined
    text); ``item_counts`` / ``context_counts`` have the scope columns (``context_counts`` may
    be None). ``manifest`` gives everything but ``format``, ``version`` and ``files``.
    """
    import pandas as pd

    path = Path(path)
    r = rules.copy()
    if len(r):
        r["antecedent"] = [a if isinstance(a, str) else SEP.join(a) for a in r["antecedent"]]
    ctx = context_counts if context_counts is not None else pd.DataFrame(
        columns=CONTEXT_COLUMNS)
    prods = pd.DataFrame([p.to_row() for p in products], columns=PRODUCT_COLUMNS)
    payload = {
        "rules.csv": (_csv_bytes(r, RULE_FILE_COLUMNS), len(r)),
        "item_counts.csv": (_csv_bytes(item_counts, ITEM_COLUMNS), len(item_counts)),
        "context_counts.csv": (_csv_bytes(ctx, CONTEXT_COLUMNS), len(ctx)),
        "products.csv": (_csv_bytes(prods, PRODUCT_COLUMNS), len(prods)),
    }
    man = {**{k: v for k, v in manifest.items() if k not in ("format", "version", "files")},
           "format": FORMAT, "version": VERSION,
           "files": [{"name": name, "rows": rows, "sha256": hashlib.sha256(data).hexdigest()}
                     for name, (data, rows) in payload.items()]}
    man_bytes = json.dumps(man, indent=1, sort_keys=True, allow_nan=False).encode("utf-8")
    digest = hashlib.sha256(man_bytes)
    for data, _ in payload.values():
        digest.update(data)
    checksum = digest.hexdigest()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED,
                                                        compresslevel=6) as zf:
            zf.writestr(MANIFEST, man_bytes)
            for name, (data, _) in payload.items():
                zf.writestr(name, data)
            zf.writestr(CHECKSUM, checksum + "\n")
        os.chmod(tmp, 0o644)           # mkstemp's 0600 would keep the pack from its readers
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("rule pack %s written: %d rules, checksum %s", path, len(r), checksum[:12])
    return checksum


def _member(zf: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise PackError(f"{path}: not a complete rule pack ({name} is missing)") from None
    if info.file_size > _MAX_MEMBER:
        raise PackError(f"{path}: {name} is implausibly large ({info.file_size:,} bytes)")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        # zlib.error is a subclass of Exception only: caught by the caller
        raise PackError(f"{path}: {name} cannot be read, the pack is damaged ({exc})") from None


def _open_manifest(path: Path) -> tuple[zipfile.ZipFile, bytes, dict[str, Any]]:
    if not path.is_file():
        raise PackError(f"no rule pack at {path}" if not path.exists()
                        else f"{path} is not a file")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise PackError(f"{path} is not a rule pack (not a zip file; damaged or another "
                        "kind of file)") from None
    except OSError as exc:
        raise PackError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        raw = _member(zf, MANIFEST, path)
        try:
            man = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise PackError(f"{path}: the pack's manifest is not valid JSON (damaged)") from None
        if not isinstance(man, dict) or man.get("format") != FORMAT:
            raise PackError(f"{path} is not a possuggest rule pack (format "
                            f"{man.get('format') if isinstance(man, dict) else None!r})")
        version = man.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise PackError(f"{path}: the pack's format version is invalid ({version!r})")
        if version > VERSION:
            raise PackError(f"{path} was made by a newer possuggest (pack format version "
                            f"{version}; this one reads version {VERSION}): upgrade possuggest "
                            "at this store")
        return zf, raw, man
    except BaseException:
        zf.close()
        raise


def verify_pack(path: str | Path) -> tuple[dict[str, Any], str]:
    """Check a pack's format, version and checksums without parsing its data; returns the
    manifest and the checksum. Raises :class:`PackError` (one line) on any problem."""
    p = Path(path)
    zf, raw, man = _open_manifest(p)
    try:
        return man, _verify(zf, p, raw, man)[1]
    finally:
        zf.close()


def _verify(zf: zipfile.ZipFile, path: Path, raw: bytes, man: dict[str, Any]
            ) -> tuple[dict[str, bytes], str]:
    import zlib

    files = man.get("files")
    if not isinstance(files, list) or {f.get("name") for f in files
                                       if isinstance(f, dict)} != set(_FILES):
        raise PackError(f"{path}: the pack's manifest does not list its files")
    try:
        stored = _member(zf, CHECKSUM, path).decode("ascii", "replace").strip().lower()
        digest = hashlib.sha256(raw)
        data: dict[str, bytes] = {}
        for f in files:
            data[f["name"]] = _member(zf, str(f["name"]), path)
            digest.update(data[f["name"]])
    except zlib.error as exc:
        raise PackError(f"{path}: the pack is damaged ({exc})") from None
    actual = digest.hexdigest()
    if stored != actual:
        raise PackError(f"{path}: checksum mismatch, the pack is damaged or was changed "
                        f"(expected {stored[:16]}…, found {actual[:16]}…); nothing was loaded")
    for f in files:    # the manifest itself is covered above: this names the broken file
        if hashlib.sha256(data[f["name"]]).hexdigest() != f.get("sha256"):
            raise PackError(f"{path}: {f['name']} does not match its checksum in the manifest")
    return data, actual


def _read_csv(data: bytes, columns: list[str], name: str, path: Path) -> Any:
    import pandas as pd

    text_cols = [c for c in columns if c in _TEXT]
    try:
        df = pd.read_csv(io.BytesIO(data), dtype={c: str for c in text_cols},
                         keep_default_na=False,
                         na_values={c: [""] for c in columns if c not in _TEXT})
    except (ValueError, pd.errors.ParserError) as exc:
        raise PackError(f"{path}: {name} cannot be parsed ({' '.join(str(exc).split())})") \
            from None
    if list(df.columns) != columns:
        raise PackError(f"{path}: {name} has columns {', '.join(map(str, df.columns))}; "
                        f"expected {', '.join(columns)}")
    for c in text_cols:
        df[c] = df[c].astype(object)
    return df


def read_pack(path: str | Path) -> RulePack:
    """Verify (see :func:`verify_pack`) and parse a pack."""
    p = Path(path)
    zf, raw, man = _open_manifest(p)
    try:
        data, checksum = _verify(zf, p, raw, man)
    finally:
        zf.close()
    frames = {name: _read_csv(data[name], cols, name, p) for name, cols in _FILES.items()}
    rules = frames["rules.csv"]
    rules["antecedent"] = [tuple(a.split(SEP)) for a in rules["antecedent"]]
    bad = set(rules["scope"]) - set(SCOPES)
    if bad:
        raise PackError(f"{p}: rules.csv names unknown scope(s) {', '.join(sorted(bad))}")
    prods = frames["products.csv"]
    products = {}
    for row in prods.itertuples(index=False):
        vals = [None if isinstance(v, float) and v != v else v for v in row]
        product = Product.from_row(*vals)
        products[product.sku] = product
    return RulePack(path=p, manifest=man, rules=rules, item_counts=frames["item_counts.csv"],
                    context_counts=frames["context_counts.csv"], products=products,
                    checksum=checksum)


__all__ = ["CONTEXT_COLUMNS", "FORMAT", "ITEM_COLUMNS", "PackError", "RULE_FILE_COLUMNS",
           "RulePack", "SCOPES", "VERSION", "read_pack", "verify_pack", "write_pack"]
