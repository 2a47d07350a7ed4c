"""Screenshots of the cashier panel, rendered offscreen into docs/screenshots/*.png.

Builds a small demo store and rule set in a temporary folder, shows the real panel at its
default size (light and dark, compact, large text with and without a banner, an upgrade card,
an accepted card waiting to be rung up, the empty state and the till-offline banner) and saves
each at 100% scale, pixel for pixel what a till-side screen at 100% shows.

    python scripts/screenshots.py [--out docs/screenshots] [--scale 1]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("screenshots")

ROOT = Path(__file__).resolve().parents[1]


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    p.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (default 1)")
    p.add_argument("--sales", type=int, default=20_000, help="demo sales to mine (default 20000)")
    return p.parse_args()


def main() -> int:
    args = _parse()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QT_SCALE_FACTOR"] = str(args.scale)
    sys.path.insert(0, str(ROOT))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from possuggest.services.context import AppContext
    from possuggest.ui.app import ensure_app, open_panel
    from possuggest.ui.controller import PanelOptions
    from possuggest.ui.panel import DEFAULT_SIZE

    app = ensure_app()
    args.out.mkdir(parents=True, exist_ok=True)

    def wait_for(cond: Callable[[], bool], timeout_ms: int = 60_000) -> None:
        loop = QEventLoop()
        timer = QTimer()
        timer.timeout.connect(lambda: loop.quit() if cond() else None)
        timer.start(20)
        QTimer.singleShot(timeout_ms, loop.quit)
        if not cond():
            loop.exec()
        timer.stop()
        if not cond():
            raise RuntimeError("timed out waiting for the panel")

    def settle(ms: int = 150) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    with tempfile.TemporaryDirectory(prefix="possuggest-shots-") as tmp:
        data = Path(tmp) / "data"
        ctx = AppContext.create(str(data), None, None, strict=False)
        ctx.paths.ensure()
        options = PanelOptions(demo_sales=args.sales, simulate=False, api_port=0)
        controller, window = open_panel(ctx, options, start=False)
        window.resize(DEFAULT_SIZE)
        controller.start()
        # the start-up state a new user meets: rules being mined, panel already usable
        wait_for(lambda: (controller.rules_state == "refreshing" and controller.progress[0] > 0.3)
                 or controller.rules_state == "ready")
        if controller.rules_state == "refreshing":
            window.scan.clearFocus()                # at the counter the till has the keyboard
            app.processEvents()
            window.grab().save(str(args.out / "panel-light-refreshing.png"))
            log.info("wrote %s", args.out / "panel-light-refreshing.png")
        wait_for(lambda: controller.rules_state == "ready")
        engine = controller.engine

        # a basket with a strong upgrade and accessories: a mower sale
        def story(skus: list[str]) -> int:
            sugs = engine.suggest(skus)
            kinds = {s.kind for s in sugs}
            return (len(sugs) >= 3) * 10 + ("upgrade" in kinds) * 5 + ("cross" in kinds) * 2

        products = engine.products
        by_name = {p.name: s for s, p in products.items()}
        preferred = [n for n in by_name if "Mower" in n and "Petrol" in n] + \
            [n for n in by_name if "Drill" in n] + [n for n in by_name if "Grill" in n]
        cands = [[by_name[n]] for n in preferred] + [[s] for s in sorted(products)]
        upgrade_basket = max(cands[:200], key=story)
        cross_cands = [c for c in cands if engine.suggest(c)
                       and all(s.kind == "cross" for s in engine.suggest(c))]
        cross_basket = (cross_cands or cands)[0]
        extra = [s.sku for s in engine.suggest(cross_basket) if s.kind == "cross"][:1]
        log.info("upgrade basket %s, cross basket %s", upgrade_basket, cross_basket + extra)

        shots: list[tuple[str, Callable[[], None]]] = []

        def basket(skus: list[str], sale: str) -> Callable[[], None]:
            def fn() -> None:
                # a sale outside the comparison group (which gets no cards), as most are
                for k in range(50):
                    view = controller.session.update(f"{sale}{k or ''}", skus, source="till")
                    if not view.holdout:
                        break
                controller.viewChanged.emit()
            return fn

        def look(theme: str, compact: bool = False, large: bool = False) -> None:
            window.set_theme(theme)
            window.set_compact(compact)
            window.set_large_font(large)

        shots.append(("panel-light-upgrade", lambda: (look("light"),
                                                      basket(upgrade_basket, "50231")())))
        shots.append(("panel-dark-upgrade", lambda: (look("dark"),
                                                     basket(upgrade_basket, "50231")())))
        shots.append(("panel-light-accessories", lambda: (look("light"),
                                                          basket(cross_basket + extra, "50232")())))
        shots.append(("panel-dark-compact", lambda: (look("dark", compact=True),
                                                     basket(upgrade_basket, "50233")())))
        shots.append(("panel-light-large-text", lambda: (look("light", large=True),
                                                         basket(upgrade_basket, "50234")())))

        def large_with_banner() -> None:
            look("light", large=True)
            controller._on_till_state("missing", "")
            controller.show_banner("refresh", "ok", "Suggestions updated from the latest "
                                   "sales.", clear_after_ms=600_000)
            basket(upgrade_basket, "50236")()

        def back_online() -> None:
            controller.clear_banner("refresh")
            controller.clear_banner("till")
            controller._set_source("till", "ok", "till connected")

        shots.append(("panel-light-large-text-banner", large_with_banner))
        shots.append(("panel-light-back", back_online))

        def ring_up() -> None:
            look("light")
            basket(upgrade_basket, "50237")()
            top = controller.session.view.suggestions[0].sku
            controller.accept(top, "tap")

        shots.append(("panel-light-ring-up", ring_up))
        shots.append(("panel-light-empty", lambda: (look("light"), basket([], "50235")())))

        def offline() -> None:
            look("dark")
            controller._on_till_state("missing", "")
            basket(upgrade_basket[:1], "api-7")()

        shots.append(("panel-dark-till-offline", offline))
        for name, setup in shots:
            setup()
            settle()
            if name == "panel-light-back":          # a step between shots, not a shot
                continue
            window.scan.clearFocus()                # at the counter the till has the keyboard
            app.processEvents()
            path = args.out / f"{name}.png"
            window.grab().save(str(path))
            log.info("wrote %s", path)
        controller.clear_banner("till")
        window.set_theme("light")
        window.close()
        app.processEvents()
        QApplication.processEvents()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
