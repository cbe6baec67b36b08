#!/usr/bin/env python3
"""Check tests/eval/paraphrases.tsv against the training dataset manifest.

Usage:
    python3 tests/eval/check_paraphrases.py [MANIFEST] [--tsv PATH]

MANIFEST defaults to ~/.cache/sigil/dataset-32/manifest.jsonl (written by
`sigil-host dataset build`); --tsv defaults to paraphrases.tsv next to this script.
Standard library only. Exit status: 0 when every check passes, 1 when the set breaks a
rule (each problem is printed with its line number), 2 when a file cannot be read.
The rules are described in tests/eval/README.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import unicodedata

HEADER = "unified\tprompt"
MIN_ROWS = 200
MIN_CONCEPTS = 200
MAX_PER_CONCEPT = 2

# Skin-tone modifiers, stripped before comparing with the held-out list below.
SKIN_TONES = {"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF"}

# Concepts the product's safety policy holds out of evaluation prompts (weapons, knives,
# bombs, drugs, syringes, pills, cigarettes, alcohol, middle finger). Keyed by the manifest's
# `unified` string; skin-tone variants of these are held out too.
HELD_OUT = {
    "1F52B": "water pistol (weapon)",
    "1F5E1-FE0F": "dagger (weapon)",
    "2694-FE0F": "crossed swords (weapon)",
    "1F3F9": "bow and arrow (weapon)",
    "1FA93": "axe (weapon)",
    "1F4A3": "bomb",
    "1F52A": "kitchen knife (knife)",
    "1F374": "fork and knife (knife)",
    "1F37D-FE0F": "fork and knife with plate (knife)",
    "1F489": "syringe",
    "1F48A": "pill",
    "1F6AC": "cigarette",
    "1F376": "sake (alcohol)",
    "1F37E": "bottle with popping cork (alcohol)",
    "1F377": "wine glass (alcohol)",
    "1F378": "cocktail glass (alcohol)",
    "1F379": "tropical drink (alcohol)",
    "1F37A": "beer mug (alcohol)",
    "1F37B": "clinking beer mugs (alcohol)",
    "1F942": "clinking glasses (alcohol)",
    "1F943": "tumbler glass (alcohol)",
    "1F595": "middle finger",
}


def norm(text: str) -> str:
    """Lower-case, straighten apostrophes, treat hyphens as spaces, collapse whitespace."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("-", " ")
    return " ".join(text.split())


def strip_skin_tones(unified: str) -> str:
    return "-".join(p for p in unified.split("-") if p.upper() not in SKIN_TONES)


def load_manifest(path: str) -> dict[str, dict]:
    """unified -> {"label", "category", "subcategory"} for every split == "train" entry."""
    concepts: dict[str, dict] = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if entry["split"] != "train":
                    continue
                concepts.setdefault(
                    entry["unified"],
                    {
                        "label": entry["captions"]["label"],
                        "category": entry["category"],
                        "subcategory": entry.get("subcategory", ""),
                    },
                )
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"{path}:{n}: not a manifest entry ({e})") from e
    return concepts


def check(tsv_path: str, concepts: dict[str, dict]) -> tuple[list[str], list[tuple[str, str]]]:
    """Return (problems, rows)."""
    problems: list[str] = []
    rows: list[tuple[str, str]] = []
    with open(tsv_path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return [f"{tsv_path}: not valid UTF-8 ({e})"], rows
    if text.startswith("\ufeff"):
        problems.append(f"{tsv_path}:1: starts with a byte-order mark; remove it")
        text = text[1:]
    if "\r" in text:
        problems.append(f"{tsv_path}: contains carriage returns; use \\n line endings")
    if text and not text.endswith("\n"):
        problems.append(f"{tsv_path}: last line has no terminating newline")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].rstrip("\r") != HEADER:
        got = lines[0] if lines else "(empty file)"
        problems.append(f"{tsv_path}:1: header must be {HEADER!r}, got {got!r}")
        return problems, rows

    seen_prompts: dict[str, int] = {}
    per_concept: collections.Counter[str] = collections.Counter()
    for n, line in enumerate(lines[1:], 2):
        line = line.rstrip("\r")
        where = f"{tsv_path}:{n}"
        fields = line.split("\t")
        if len(fields) != 2:
            problems.append(
                f"{where}: expected 2 TAB-separated fields (unified, prompt), got {len(fields)}"
            )
            continue
        unified, prompt = fields
        if not prompt.strip():
            problems.append(f"{where}: empty prompt")
            continue
        if prompt != prompt.strip() or "  " in prompt:
            problems.append(f"{where}: prompt has leading, trailing or doubled spaces: {prompt!r}")
        bad_chars = [c for c in prompt if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
        if bad_chars:
            problems.append(f"{where}: prompt contains control/format characters {bad_chars!r}")
        rows.append((unified, prompt))

        info = concepts.get(unified)
        if info is None:
            hint = ""
            if unified.upper() != unified:
                hint = " (code points must be upper-case hex, as in the manifest)"
            elif (unified + "-FE0F") in concepts:
                hint = f" (did you mean {unified}-FE0F?)"
            problems.append(f"{where}: {unified!r} is not a train concept in the manifest{hint}")
        else:
            label = info["label"]
            if norm(label) in norm(prompt):
                problems.append(
                    f"{where}: prompt {prompt!r} contains the CLDR label {label!r} of {unified}; "
                    "paraphrase it"
                )
        held = HELD_OUT.get(strip_skin_tones(unified))
        if held:
            problems.append(f"{where}: {unified} is held out by the safety policy: {held}")

        key = norm(prompt)
        if key in seen_prompts:
            problems.append(
                f"{where}: duplicate prompt {prompt!r} (first on line {seen_prompts[key]})"
            )
        else:
            seen_prompts[key] = n
        per_concept[unified] += 1

    for unified, count in sorted(per_concept.items()):
        if count > MAX_PER_CONCEPT:
            label = concepts.get(unified, {}).get("label", "?")
            problems.append(
                f"{tsv_path}: {unified} ({label}) has {count} prompts; at most {MAX_PER_CONCEPT}"
            )
    if len(rows) < MIN_ROWS:
        problems.append(f"{tsv_path}: {len(rows)} rows; at least {MIN_ROWS} are required")
    if len(per_concept) < MIN_CONCEPTS:
        problems.append(
            f"{tsv_path}: {len(per_concept)} distinct concepts; at least {MIN_CONCEPTS} are required"
        )
    return problems, rows


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "manifest",
        nargs="?",
        default=os.path.expanduser("~/.cache/sigil/dataset-32/manifest.jsonl"),
        help="dataset manifest (JSON lines; default: %(default)s)",
    )
    ap.add_argument(
        "--tsv",
        default=os.path.join(here, "paraphrases.tsv"),
        help="prompt set to check (default: paraphrases.tsv next to this script)",
    )
    args = ap.parse_args()

    try:
        concepts = load_manifest(args.manifest)
    except OSError as e:
        print(f"error: cannot read manifest {args.manifest}: {e.strerror}. Build the dataset "
              "with `sigil-host dataset build` or pass the manifest path.", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not concepts:
        print(f"error: {args.manifest} has no entries with split == \"train\"", file=sys.stderr)
        return 2
    try:
        problems, rows = check(args.tsv, concepts)
    except OSError as e:
        print(f"error: cannot read {args.tsv}: {e.strerror}", file=sys.stderr)
        return 2

    # Counts per manifest category (rows and distinct concepts), known concepts only.
    cat_rows: collections.Counter[str] = collections.Counter()
    cat_concepts: dict[str, set[str]] = collections.defaultdict(set)
    for unified, _ in rows:
        cat = concepts.get(unified, {}).get("category", "(unknown)")
        cat_rows[cat] += 1
        cat_concepts[cat].add(unified)
    train_per_cat = collections.Counter(c["category"] for c in concepts.values())
    distinct = len({u for u, _ in rows})
    print(f"{args.tsv}: {len(rows)} rows, {distinct} distinct concepts "
          f"(of {len(concepts)} train concepts)")
    print(f"{'category':<20} {'rows':>5} {'concepts':>9} {'of train':>9}")
    for cat in sorted(set(train_per_cat) | set(cat_rows), key=lambda c: (-cat_rows[c], c)):
        print(f"{cat:<20} {cat_rows[cat]:>5} {len(cat_concepts[cat]):>9} "
              f"{train_per_cat.get(cat, 0):>9}")

    if problems:
        print(file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        print(f"\nFAIL: {len(problems)} problem(s) in {args.tsv}", file=sys.stderr)
        return 1
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
