"""The accepted card's Code 128 barcode: drawn, then read back from its own pixels by a small
decoder here (and by zbar's ``zbarimg`` when it is installed, an independent reader)."""

from __future__ import annotations

import random
import shutil
import string
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from possuggest.ui.barcode import (
    PATTERNS,
    QUIET,
    STOP,
    BarcodeError,
    BarcodeWidget,
    code128_values,
    code128_widths,
)

SKUS = ["MOW-STD", "GRASS-CATCH", "4006381333931", "12345", "A1234567B", "x", "00", "1234",
        "AB12345678", "SEED-LAWN-5KG", " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"]


def _random_texts(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    alpha = string.ascii_letters + string.digits + string.punctuation + " "
    return ["".join(rnd.choice(alpha if rnd.random() < 0.5 else string.digits)
                    for _ in range(rnd.randint(1, 16))) for _ in range(n)]


def decode_widths(widths: list[int]) -> str:
    """Bar/space widths (modules) → text, checking start, check symbol and stop."""
    table = {p: v for v, p in enumerate(PATTERNS)}
    assert "".join(map(str, widths[-7:])) == PATTERNS[STOP], "no stop pattern"
    body = widths[:-7]
    assert len(body) % 6 == 0
    values = [table["".join(map(str, body[k:k + 6]))] for k in range(0, len(body), 6)]
    start, data, check = values[0], values[1:-1], values[-1]
    assert (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 == check, "check"
    sets = {104: "B", 105: "C"}
    assert start in sets, f"start {start}"
    cur, out = sets[start], []
    for v in data:
        if cur == "B":
            if v == 99:
                cur = "C"
            else:
                assert v < 95, f"value {v} in set B"
                out.append(chr(v + 32))
        elif v == 100:
            cur = "B"
        else:
            assert v < 100, f"value {v} in set C"
            out.append(f"{v:02d}")
    return "".join(out)


def read_pixels(image: QImage) -> str:
    """Decode the middle row of a rendered barcode: runs of dark and light pixels, scaled by
    the module width the Start symbol (11 modules) shows."""
    y = image.height() // 2
    row = [QColor(image.pixel(x, y)).lightness() < 128 for x in range(image.width())]
    white_from = row.index(False)                                # the light ground begins
    white_to = len(row) - 1 - row[::-1].index(False)
    first = row.index(True, white_from)                          # the first and last bar
    last = white_to - row[white_to::-1].index(True)
    runs: list[int] = []
    prev, n = row[first], 0
    for px in row[first:last + 1]:
        if px == prev:
            n += 1
        else:
            runs.append(n)
            prev, n = px, 1
    runs.append(n)
    module = sum(runs[:6]) / 11
    assert first - white_from >= QUIET * module and white_to - last >= QUIET * module, \
        "quiet zone missing"
    return decode_widths([round(r / module) for r in runs])


def render(text: str, width: int, height: int = 56) -> tuple[BarcodeWidget, QImage]:
    w = BarcodeWidget(height)
    assert w.set_text(text)
    w.resize(width, height)
    image = QImage(w.size(), QImage.Format.Format_RGB32)
    image.fill(QColor("#17202A"))           # a dark card behind it: the widget brings its white
    w.render(image)
    return w, image


def test_the_symbol_table_is_well_formed() -> None:
    assert len(PATTERNS) == 107 and len(set(PATTERNS)) == 107
    for v, p in enumerate(PATTERNS):
        widths = [int(c) for c in p]
        assert sum(widths) == (13 if v == STOP else 11)
        assert sum(widths[0::2]) % 2 == 0            # bars are an even number of modules
        assert all(1 <= w <= 4 for w in widths)


@pytest.mark.parametrize("text", SKUS + _random_texts(60))
def test_encode_then_decode(text: str) -> None:
    assert decode_widths(code128_widths(text)) == text


def test_digit_runs_use_code_set_c() -> None:
    assert code128_values("400638133393")[:2] == [105, 40]       # Start C, "40"
    assert len(code128_values("4006381333931")) == 10            # start, "4", C, 6 pairs, check
    b = code128_values("AB123456CD")                             # 6 digits inside: C
    assert 99 in b and 100 in b
    assert 99 not in code128_values("AB1234CD")                  # 4 inside: not worth it


@pytest.mark.parametrize("bad", ["", "é", "A\tB", "\x7f"])
def test_text_it_cannot_carry(bad: str, qtbot) -> None:
    with pytest.raises(BarcodeError):
        code128_widths(bad)
    w = BarcodeWidget()
    qtbot.addWidget(w)
    assert not w.set_text(bad) and w.modules == 0 and w.module_px(400) == 0


@pytest.mark.parametrize("text", SKUS)
@pytest.mark.parametrize("px", [1, 2, 3])
def test_drawn_bars_read_back(text: str, px: int, qtbot) -> None:
    probe = BarcodeWidget()
    qtbot.addWidget(probe)
    probe.set_text(text)
    w, image = render(text, probe.modules * px + px - 1)     # just short of one more module
    qtbot.addWidget(w)
    assert w.module_px() == px
    assert read_pixels(image) == text


def test_too_narrow_draws_nothing(qtbot) -> None:
    w = BarcodeWidget()
    qtbot.addWidget(w)
    w.set_text("SEED-LAWN-5KG")
    assert w.module_px(w.modules - 1) == 0


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools not installed")
def test_an_independent_reader_agrees(qtbot, tmp_path: Path) -> None:
    """zbar, a barcode reader that shares no code with this one, reads every symbol."""
    for k, text in enumerate(SKUS + _random_texts(20, seed=11)):
        probe = BarcodeWidget()
        qtbot.addWidget(probe)
        probe.set_text(text)
        w, image = render(text, probe.modules * 2)
        qtbot.addWidget(w)
        path = tmp_path / f"code{k}.png"
        assert image.save(str(path))
        got = subprocess.run(["zbarimg", "-q", "--raw", "-Sdisable", "-Scode128.enable",
                              str(path)], capture_output=True, text=True, timeout=30)
        assert got.stdout.rstrip("\n") == text, (text, got.stdout, got.stderr)
