"""``possuggest rules import PACK``: a store loads the rule pack head office mined for it, as
a new rule set (kept in the history, so ``possuggest rollback`` goes back), blended with the
chain's evidence where the store's own is thin.

**The blend.** The pack carries the store's own rules -- exactly what its refresh mines from
the same sales -- and its region's and the chain's pair rules and item counts. A store's rule
X→Y is kept as it is when X sold in at least ``min_count`` of the store's baskets. Below that
(a product new to the store, a store with little history) the store's counts are combined
with the borrowed confidence as a prior worth ``strength`` baskets (a Beta prior, i.e. a
Bayesian blend of counts)::

    confidence = (both_store + strength × confidence_borrowed) / (count_X_store + strength)
    count      = both_store + strength × confidence_borrowed      (evidence, in baskets)

the borrowed confidence being the region's when the region sold X in ``min_count`` baskets
or more, else the chain's. Lift, support, leverage and conviction follow from the blended
counts against the store's item shares (the borrowed share for a product the store has not
sold). Borrowed rules only name products in the store's catalogue. The more the store sells
X, the less the prior weighs, and from ``min_count`` on the store's own rule stands alone.
Item popularity gets the same treatment with ``popularity_strength`` baskets: a product's
share is ``(count_store + popularity_strength × share_borrowed) / (n_store +
popularity_strength)``, which a store with years of sales does not notice.
Multi-item rules, upgrades (the store's families and prices) and time-of-day counts stay the
store's own. ``--no-blend`` loads the store's own rules alone.

The pack is read and verified (format, version, checksum) before the database is opened: a
bad pack writes nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from possuggest.core.errors import PossuggestError
from possuggest.mining.miner import RULE_COLUMNS
from possuggest.store.rule_pack import RulePack, read_pack
from possuggest.store.rule_store import RuleSetInfo, RuleStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlendSettings:
    """How a pack's borrowed evidence is blended with the store's (see the module docstring)."""

    enabled: bool = True
    min_count: int = 50               # the store's own rules from X stand alone from here
    strength: float = 20.0            # the borrowed confidence is worth this many baskets
    popularity_strength: float = 1000.0   # borrowed item shares: worth this many baskets

    def check(self) -> BlendSettings:
        if self.min_count < 0:
            raise PossuggestError(f"--blend-min-count must be 0 or more, got {self.min_count}")
        if not self.strength >= 0:
            raise PossuggestError(f"--blend-strength must be 0 or more, got {self.strength}")
        if not self.popularity_strength >= 0:
            raise PossuggestError("--blend-popularity must be 0 or more, got "
                                  f"{self.popularity_strength}")
        return self


@dataclass(frozen=True)
class ImportSummary:
    rule_set_id: int
    store: str
    n_cross: int
    n_upgrade: int
    n_thin: int              # antecedents whose rules were blended
    n_borrowed: int          # blended rules the store's own sales did not have
    active: bool
    checksum: str
    seconds: float

    def text(self) -> str:
        state = "active" if self.active else "kept (a rollback pinned another set)"
        blend = (f"; {self.n_thin:,} thinly sold products blended with the chain's evidence "
                 f"({self.n_borrowed:,} rules borrowed)" if self.n_thin else "")
        return (f"rule set {self.rule_set_id} {state}: pack for store {self.store}, "
                f"{self.n_cross:,} cross-sell and {self.n_upgrade:,} upgrade rules{blend} "
                f"in {self.seconds:.1f} s")


def _metrics(both: np.ndarray, n_a: np.ndarray, s_b: np.ndarray, n: float
             ) -> dict[str, np.ndarray]:
    s_ab, s_a = both / n, n_a / n
    conf = np.divide(both, n_a, out=np.zeros_like(both), where=n_a > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(s_b > 0, conf / s_b, np.nan)
        conviction = np.where(conf >= 1.0, np.inf, (1.0 - s_b) / (1.0 - conf))
    return {"support": s_ab, "confidence": conf, "lift": lift, "leverage": s_ab - s_a * s_b,
            "conviction": conviction}


def blend(pack: RulePack, settings: BlendSettings) -> tuple[Any, Any, dict[str, int]]:
    """The rule set a pack loads as: (rules with RULE_COLUMNS, item counts, stats)."""
    import pandas as pd

    rules, items, _ = pack.scope("store")
    rules = rules[RULE_COLUMNS]
    stats = {"thin": 0, "borrowed": 0}
    if not settings.enabled:
        return rules, items, stats
    info = pack.scope_info("store")
    n = float(info.get("n_baskets") or 0)
    own_count = dict(zip(items["sku"], items["count"].astype(float)))
    own_support = dict(zip(items["sku"], items["support"].astype(float)))
    n_eff = (float(items["count"].iloc[0] / items["support"].iloc[0])
             if len(items) and items["support"].iloc[0] > 0 else max(n, 1.0))
    catalogue = set(pack.products)
    borrowed = {}
    for scope in ("region", "chain"):
        r, i, _ = pack.scope(scope)
        if len(r) or len(i):
            borrowed[scope] = (r, dict(zip(i["sku"], i["count"].astype(float))),
                               dict(zip(i["sku"], i["support"].astype(float))))

    # -- popularity: the store's shares, shrunk toward the borrowed ones -------------------
    prior_share: dict[str, float] = {}
    for scope in ("chain", "region"):           # the region's shares win where it has them
        if scope in borrowed:
            prior_share.update(borrowed[scope][2])
    m_pop = float(settings.popularity_strength)
    if m_pop > 0 and prior_share:
        skus = sorted(set(own_count) | ({s for s in prior_share if s in catalogue}
                                        if catalogue else set(prior_share)))
        c = np.array([own_count.get(s, 0.0) for s in skus])
        p = np.array([prior_share.get(s, 0.0) for s in skus])
        share = (c + m_pop * p) / (n_eff + m_pop)
        items = pd.DataFrame({"sku": np.array(skus, dtype=object), "count": share * n_eff,
                              "support": share})
    if not borrowed or settings.strength <= 0 or not settings.min_count:
        return rules, items, stats

    # -- thin antecedents: a Beta prior at the borrowed confidence --------------------------
    k = float(settings.min_count)
    cross1 = (rules["kind"] == "cross") & (rules["antecedent"].map(len) == 1)
    ante1 = rules["antecedent"].map(lambda a: a[0])
    candidates = set(own_count) | set(catalogue)
    thin = {s for s in candidates if own_count.get(s, 0.0) < k}
    if not thin:
        return rules, items, stats
    prior_rows = []
    region = borrowed.get("region")
    for scope in ("region", "chain"):
        if scope not in borrowed:
            continue
        r, counts, _ = borrowed[scope]
        a = r["antecedent"].map(lambda t: t[0])
        sel = (r["kind"] == "cross") & (r["antecedent"].map(len) == 1) & a.isin(thin)
        if scope == "chain" and region is not None:   # where the region knows X, it decides
            sel &= ~a.map(lambda s: region[1].get(s, 0.0) >= k)
        elif scope == "region":
            sel &= a.map(lambda s, c=counts: c.get(s, 0.0) >= k)
        prior_rows.append(pd.DataFrame({"a": a[sel], "b": r["consequent"][sel],
                                        "prior": r["confidence"][sel].astype(float)}))
    prior = (pd.concat(prior_rows, ignore_index=True) if prior_rows
             else pd.DataFrame(columns=["a", "b", "prior"]))
    if catalogue:
        prior = prior[prior["b"].isin(catalogue)]
    own_thin = rules[cross1 & ante1.isin(thin)]
    own = pd.DataFrame({"a": ante1[own_thin.index], "b": own_thin["consequent"],
                        "count": own_thin["count"].astype(float),
                        "both_w": own_thin["confidence"].astype(float)
                        * own_thin["antecedent"].map(lambda t: own_count.get(t[0], 0.0))})
    merged = own.merge(prior, on=["a", "b"], how="outer")
    merged["prior"] = merged["prior"].fillna(0.0)
    borrowed_new = merged["count"].isna()
    merged["count"] = merged["count"].fillna(0.0)
    merged["both_w"] = merged["both_w"].fillna(0.0)
    m = float(settings.strength)
    n_a = merged["a"].map(lambda s: own_count.get(s, 0.0)).to_numpy(dtype=np.float64)
    both = merged["both_w"].to_numpy() + m * merged["prior"].to_numpy()
    evidence = merged["count"].to_numpy() + m * merged["prior"].to_numpy()
    share_b = np.array([own_support.get(s) or prior_share.get(s, 0.0) for s in merged["b"]])
    met = _metrics(both, n_a + m, share_b, n_eff + m)
    met["support"] = evidence / max(n, 1.0)
    out = pd.DataFrame({
        "kind": "cross",
        "antecedent": [(s,) for s in merged["a"]],
        "consequent": merged["b"].to_numpy(dtype=object),
        "count": evidence,
        **met,
        "antecedent_count": n_a,
        "consequent_count": np.array([own_count.get(s, 0.0) for s in merged["b"]]),
        "weight": np.nan,
    })[RULE_COLUMNS]
    out = out[out["confidence"] > 0]
    stats = {"thin": int(out["antecedent"].map(lambda t: t[0]).nunique()),
             "borrowed": int(borrowed_new[out.index].sum())}
    kept = rules[~(cross1 & ante1.isin(thin))]
    return pd.concat([kept, out], ignore_index=True)[RULE_COLUMNS], items, stats


def import_pack(pack_path: str | Path, store_path: str | Path, keep: int = 5,
                settings: BlendSettings | None = None) -> ImportSummary:
    """Verify and load a pack into possuggest's database as a new rule set (active unless a
    rollback pinned another). Raises PackError (nothing written) on a bad pack."""
    started = time.perf_counter()
    bs = (settings or BlendSettings()).check()
    pack = read_pack(pack_path)
    rules, items, stats = blend(pack, bs)
    _, _, context = pack.scope("store")
    store = pack.scope_info("store")
    n_cross = int((rules["kind"] == "cross").sum())
    n_upgrade = int((rules["kind"] == "upgrade").sum())
    notes = list(store.get("notes") or [])
    if bs.enabled and stats["thin"]:
        notes.append(f"chain evidence blended into {stats['thin']:,} thinly sold products' "
                     f"rules (below {bs.min_count} sales; prior worth {bs.strength:g} sales)")
    params = {**(store.get("params") or {}),
              "pack": {"file": Path(pack_path).name, "checksum": pack.checksum,
                       "store": pack.store, "region": pack.region,
                       "created_at": pack.manifest.get("created_at"),
                       "made_by": pack.manifest.get("made_by")},
              "blend": {**asdict(bs), **stats}}
    info = RuleSetInfo(source=f"rule pack {Path(pack_path).name} (store {pack.store})",
                       n_baskets=int(store.get("n_baskets") or 0), n_items=len(items),
                       n_cross=n_cross, n_upgrade=n_upgrade,
                       window_start=store.get("window_start"),
                       window_end=store.get("window_end"),
                       seconds=time.perf_counter() - started, params=params, notes=notes)
    db = RuleStore(store_path)
    try:
        rs_id = db.write_rule_set(rules, items, pack.products.values(), info, keep=keep,
                                  context_counts=context if len(context) else None)
        active = db.active_rule_set()
    finally:
        db.close()
    summary = ImportSummary(rule_set_id=rs_id, store=pack.store, n_cross=n_cross,
                            n_upgrade=n_upgrade, n_thin=stats["thin"],
                            n_borrowed=stats["borrowed"],
                            active=active is not None and active.id == rs_id,
                            checksum=pack.checksum, seconds=time.perf_counter() - started)
    log.info("%s", summary.text())
    return summary


__all__ = ["BlendSettings", "ImportSummary", "blend", "import_pack"]
