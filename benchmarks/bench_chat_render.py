"""How long ``tierzero chat`` takes to highlight and print one hostile answer, by size.

"scan" finds every evidence id and address (no span limit): the target is linear time, a
1 MiB / 128 KiB ratio near 8. "print" is the whole ``_print_reply`` (cut to what a terminal
shows): the target is under 0.5 s for 1 MiB of any shape on one core. "escape" is
``cli.support.escape_markup``, which every table of alert text goes through: linear too. Rich's own
highlighter took about a minute for 100 KB of one word, growing with the square of the size.
Run from the repository root::

    python benchmarks/bench_chat_render.py
    python benchmarks/bench_chat_render.py --sizes 131072 1048576 4194304
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console

from tierzero.cli import chat
from tierzero.cli.support import escape_markup

SHAPES = {
    "one word": lambda n: "a" * n,
    "backslashes": lambda n: "\\" * n,
    "evidence ids": lambda n: "E1 " * (n // 3),
    "addresses": lambda n: "10.0.0.1 " * (n // 9),
    "almost addresses": lambda n: "1." * (n // 2),
    "quotes": lambda n: '"' * n,
    "brackets": lambda n: "[a" * (n // 2),
    "escaped tags": lambda n: "\\[a]" * (n // 4),
    "newlines": lambda n: "\n" * n,
    "prose": lambda n: ("The host beaconed to 203.0.113.45 [E3]. " * (n // 40 + 1))[:n],
}


def scan(text: str) -> None:
    for _ in chat.HIGHLIGHTS.finditer(text):
        pass


def timed(action: object, *args: object) -> float:
    started = time.perf_counter()
    action(*args)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128 << 10, 1 << 20])
    sizes = parser.parse_args().sizes
    chat.out = Console(file=io.StringIO(), width=100, color_system="truecolor")
    columns = ("scan", "print", "escape")
    print(f"{'shape':<18}" + "".join(f"{f'{c} {n}':>18}" for n in sizes for c in columns))
    for name, make in SHAPES.items():
        row = f"{name:<18}"
        for n in sizes:
            text = make(n)
            took = (
                timed(scan, text),
                timed(chat._print_reply, text, "m"),
                timed(escape_markup, text),
            )
            row += "".join(f"{seconds:>17.3f}s" for seconds in took)
        print(row)


if __name__ == "__main__":
    main()
