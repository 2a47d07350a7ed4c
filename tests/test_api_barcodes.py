"""A till that pushes the scanned barcode instead of its SKU gets the same suggestions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from api_fixtures import call, live_api, make_engine


def test_a_pushed_barcode_counts_as_its_product(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    drill = engine.products["DRILL-18V"]
    engine.set_products({**engine.products,
                         "DRILL-18V": dataclasses.replace(drill, barcode="4006381333931")})
    with live_api(engine) as live:
        code, _, view = call(live.base, "POST", "/v1/basket", {
            "register": "1", "sale_id": "B-1",
            "items": [{"sku": "4006381333931", "qty": 1}]})
        assert code == 200
        assert view["basket"] == ["DRILL-18V"]
        assert "BITS" in [s["sku"] for s in view["suggestions"]]
        # an unknown code is kept as sent (the till may know products possuggest does not)
        code, _, view = call(live.base, "POST", "/v1/basket", {
            "register": "1", "sale_id": "B-1",
            "items": [{"sku": "4006381333931", "qty": 1}, {"sku": "NOPE-1", "qty": 1}]})
        assert code == 200 and view["basket"] == ["DRILL-18V", "NOPE-1"]
