#!/usr/bin/env python3
"""Print row counts of a red-team corpus by label, category, evasion and language.

    python3 tests/redteam/stats.py [corpus.tsv]

Standard library only. Also checks the format (five tab-separated fields, known labels,
evasions and languages, only \\t, \\n and \\\\ escapes) and exits 1 on the first bad line.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

LABELS = ("harmful", "benign")
EVASIONS = ("plain", "leet", "homoglyph", "spacing", "dots", "zero-width", "fullwidth",
            "combining", "repeated", "translated", "mixed")
LANGS = ("en", "de", "fr", "es")


def unescape(s: str, n: int) -> str:
    out, it = [], iter(s)
    for c in it:
        if c != "\\":
            out.append(c)
            continue
        nxt = next(it, None)
        if nxt not in ("t", "n", "\\"):
            raise ValueError(f"line {n}: bad escape \\{nxt or ''}")
        out.append({"t": "\t", "n": "\n", "\\": "\\"}[nxt])
    return "".join(out)


def read(path: Path) -> list[tuple[str, str, str, str, str]]:
    rows = []
    # Split on "\n" only, as the Rust reader does (str.splitlines would also split on U+2028...).
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t", 4)
        if len(fields) != 5:
            raise ValueError(f"line {n}: {len(fields)} fields, expected 5")
        label, category, evasion, lang, prompt = fields
        if label not in LABELS or evasion not in EVASIONS or lang not in LANGS:
            raise ValueError(f"line {n}: unknown label, evasion or lang in {fields[:4]}")
        if label == "benign" and evasion != "plain":
            raise ValueError(f"line {n}: benign rows are plain")
        rows.append((label, category, evasion, lang, unescape(prompt, n)))
    return rows


def table(title: str, counts: Counter, order=None) -> None:
    keys = list(order) if order else sorted(counts)
    keys = [k for k in keys if counts[k]] + sorted(k for k in counts if k not in keys)
    width = max([len(title)] + [len(str(k)) for k in keys])
    print(f"{title:<{width}}  rows")
    for k in keys:
        print(f"{k:<{width}}  {counts[k]:>5}")
    print(f"{'total':<{width}}  {sum(counts.values()):>5}\n")


def matrix(rows, row_key, col_key, cols) -> None:
    cells = Counter((row_key(r), col_key(r)) for r in rows)
    names = sorted({row_key(r) for r in rows})
    w = max(len(n) for n in names)
    heads = [c[:5] for c in cols]
    print(" " * w + "  " + " ".join(f"{h:>5}" for h in heads))
    for name in names:
        print(f"{name:<{w}}  " + " ".join(f"{cells[(name, c)]:>5}" for c in cols))
    print()


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "corpus.tsv"
    try:
        rows = read(path)
    except (OSError, ValueError) as e:
        print(f"stats: {path}: {e}", file=sys.stderr)
        return 1
    harmful = [r for r in rows if r[0] == "harmful"]
    benign = [r for r in rows if r[0] == "benign"]
    table("label", Counter(r[0] for r in rows), LABELS)
    table("harmful category", Counter(r[1] for r in harmful))
    table("harmful evasion", Counter(r[2] for r in harmful), EVASIONS)
    table("harmful lang", Counter(r[3] for r in harmful), LANGS)
    table("benign category", Counter(r[1] for r in benign))
    table("benign lang", Counter(r[3] for r in benign), LANGS)
    print("harmful rows, category x evasion")
    matrix(harmful, lambda r: r[1], lambda r: r[2], EVASIONS)
    print("benign rows, category x lang")
    matrix(benign, lambda r: r[1], lambda r: r[3], LANGS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
