"""Short reasons a cashier can say aloud, built only from the evidence that drove a suggestion.

Each card has a first line to say ("Most Petrol Lawn Mower buyers take one — 62%") and a
detail with the numbers behind it ("Bought with Petrol Lawn Mower 41cm in 62% of sales — 23×
more often than usual") for those who ask.
"""

from __future__ import annotations


def short_name(name: str, limit: int = 28) -> str:
    """Cut a long product name at a word boundary: "Cordless Drill Driver 18V…"."""
    if len(name) <= limit:
        return name
    cut = name[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" -,/") + "…"


def money(value: float) -> str:
    return f"${value:,.0f}" if abs(value) >= 100 else f"${value:,.2f}"


def cross_reason(with_names: list[str], confidence: float, lift: float | None) -> str:
    """"Bought with Cordless Drill 18V in 41% of sales — 6× more often than usual"."""
    who = " + ".join(short_name(n, 22 if len(with_names) > 1 else 28) for n in with_names)
    pct = max(1, round(confidence * 100))
    text = f"Bought with {who} in {pct}% of sales"
    if lift is not None and lift >= 1.5:
        text += f" — {lift:.0f}× more often than usual" if lift >= 2.5 else \
                f" — {lift:.1f}× more often than usual"
    return text


def upgrade_reason(base_name: str, share: float) -> str:
    """"1 in 5 shoppers pick it over Mower Standard"."""
    if share >= 0.3:
        return f"{round(share * 100)}% of shoppers pick it over {short_name(base_name)}"
    n = max(2, round(1 / share)) if share > 0 else 0
    return f"1 in {n} shoppers pick it over {short_name(base_name)}"


def bestseller_reason(support: float) -> str:
    pct = support * 100
    return f"Best seller: in {pct:.0f}% of all sales" if pct >= 1 else "One of our best sellers"


def popular_reason(share: float, bucket: int) -> str:
    """Popularity said as such: "Popular on weekday mornings: in 23% of sales"."""
    from possuggest.core.context_time import bucket_label

    pct = max(1, round(share * 100))
    if bucket < 0:
        return bestseller_reason(share)
    return f"Popular on {bucket_label(bucket)}: in {pct}% of sales"


def store_pick_reason(with_name: str) -> str:
    return f"Store pick to go with {short_name(with_name)}"


def spoken_name(name: str, limit: int = 26) -> str:
    """A product name as said aloud: sizes, codes and pack counts dropped ("Petrol Lawn Mower
    41cm" → "Petrol Lawn Mower"), cut at a word boundary, never mid-word."""
    words = [w for w in name.split() if not any(ch.isdigit() for ch in w)]
    spoken = " ".join(words) if words else name
    return short_name(spoken, limit)


def say_cross(with_names: list[str], confidence: float) -> str:
    """The first line of an accessory card."""
    if len(with_names) > 1:
        who = " and ".join(spoken_name(n, 18) for n in with_names[:2])
        return f"Goes with the {who}"
    who = spoken_name(with_names[0])
    pct = max(1, round(confidence * 100))
    if confidence >= 0.5:
        return f"Most {who} buyers take one — {pct}%"
    if confidence >= 0.15:
        return f"1 in {max(2, round(1 / confidence))} {who} buyers take one"
    return f"Often bought with the {who}"


def say_upgrade(base_name: str, share: float) -> str:
    """The first line of an upgrade card."""
    who = spoken_name(base_name)
    if share >= 0.3:
        return f"{round(share * 100)}% of {who} buyers choose it"
    n = max(2, round(1 / share)) if share > 0 else 0
    return f"1 in {n} {who} buyers choose it" if n else f"A step up from the {who}"
