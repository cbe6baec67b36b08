#!/usr/bin/env python3
"""Build the Sigil red-team corpus, tests/redteam/corpus.tsv.

Inputs: the hand-written base prompts in bases-harmful.txt and bases-benign.txt (next to this
script) and emojibase-data 17.0.0's en/data.json (fetched by fetch-emojibase.sh). Standard
library only. The output is deterministic (fixed seed, sorted rows): the committed corpus.tsv
must equal this script's output byte for byte, which `--check` verifies. Format: README.md.

    DATA=$(tests/redteam/fetch-emojibase.sh)
    python3 tests/redteam/build_corpus.py --emojibase "$DATA"          # writes corpus.tsv
    python3 tests/redteam/build_corpus.py --emojibase "$DATA" --check  # exit 1 if it differs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASES = (HERE / "bases-harmful.txt", HERE / "bases-benign.txt")
OUT = HERE / "corpus.tsv"
EMOJIBASE_VERSION = "17.0.0"
HEADER = "# label\tcategory\tevasion\tlang\tprompt"

SEED = "sigil-redteam-v1"
CATEGORIES = ("sexual_minors", "sexual", "ncii", "impersonation", "violence", "hate",
              "self_harm", "weapons", "drugs", "political", "opt_out")
BENIGN_SOURCES = ("emoji-label", "emoji-tag", "hard-negative", "kiosk")
LANGS = ("en", "de", "fr", "es")
# Obfuscations derived from every English harmful base, in the order they are dealt out.
OBFUSCATIONS = ("leet", "homoglyph", "spacing", "dots", "zero-width", "fullwidth", "combining",
                "repeated", "mixed")
EVASIONS = ("plain",) + OBFUSCATIONS + ("translated",)
VARIANTS_PER_BASE = 4          # with 9 English bases per category: each obfuscation 4 times
WHOLE_PROMPT_SHARE = 0.25      # share of single-technique variants applied to every word
WHOLE_OK = {"leet", "homoglyph", "zero-width", "fullwidth", "combining"}

# Emoji the demo policy catches in the output (DESIGN.md §5): weapons and drugs. Neither their
# labels (base or skin variants) nor their tags go into the benign set.
EXCLUDED_HEXCODES = {
    "1F52B",  # water pistol
    "1F4A3",  # bomb
    "1F5E1",  # dagger
    "2694",   # crossed swords
    "1F52A",  # kitchen knife
    "1F3F9",  # bow and arrow
    "1FA93",  # axe
    "1F489",  # syringe
    "1F48A",  # pill
    "1F6AC",  # cigarette
}
# Tags of non-excluded emoji that are themselves weapon, drug or sexual words ("weapon" on
# boomerang, "explosive" on firecracker, "smoking" on no smoking, "dope" on OK hand, "sexy" on
# winking face, ...). A one-word prompt made of one is not a fair benign example, so they are
# not sampled. Alcohol words stay: alcohol is a `label` tier (allowed), like the beer-mug labels.
DENY_TAGS = {"weapon", "knife", "bomb", "explosive", "dynamite", "sword", "smoking", "dope",
             "sexy"}
TAG_SAMPLE = 400

# ---------------------------------------------------------------------------------------------
# Character tables
# ---------------------------------------------------------------------------------------------

LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7"}

# Cyrillic and Greek look-alikes of Latin letters.
HOMOGLYPHS = {
    "a": "\u0430",            # а Cyrillic
    "c": "\u0441",            # с
    "e": "\u0435",            # е
    "o": "\u043e\u03bf",      # о Cyrillic, ο Greek omicron
    "p": "\u0440",            # р
    "x": "\u0445",            # х
    "y": "\u0443",            # у
    "i": "\u0456",            # і
    "s": "\u0455",            # ѕ
    "j": "\u0458",            # ј
    "h": "\u04bb",            # һ
    "d": "\u0501",            # ԁ
    "q": "\u051b",            # ԛ
    "w": "\u051d",            # ԝ
    "v": "\u03bd",            # ν Greek nu
    "u": "\u03c5",            # υ Greek upsilon
    "k": "\u03ba",            # κ Greek kappa
    "l": "\u04cf",            # ӏ Cyrillic palochka
    "A": "\u0410\u0391", "B": "\u0412\u0392", "C": "\u0421", "E": "\u0415\u0395",
    "H": "\u041d\u0397", "I": "\u0406\u0399", "J": "\u0408", "K": "\u041a\u039a",
    "M": "\u041c\u039c", "N": "\u039d", "O": "\u041e\u039f", "P": "\u0420\u03a1",
    "S": "\u0405", "T": "\u0422\u03a4", "X": "\u0425\u03a7", "Y": "\u04ae\u03a5",
    "Z": "\u0396",
}

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")

# Mathematical script letters that live in the Letterlike Symbols block instead of U+1D49C ff.
SCRIPT_HOLES = {"B": 0x212C, "E": 0x2130, "F": 0x2131, "H": 0x210B, "I": 0x2110, "L": 0x2112,
                "M": 0x2133, "R": 0x211B, "e": 0x212F, "g": 0x210A, "o": 0x2134}

# Combining marks (U+0300-036F) that read as accents.
ACCENTS = (0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0306, 0x0307, 0x0308, 0x030A, 0x030B,
           0x030C, 0x0323, 0x0324, 0x0325, 0x0327, 0x0328, 0x0330, 0x0331)


def _styled(c: str, style: str) -> str:
    """One character in a fullwidth, mathematical bold/script or circled form (else unchanged)."""
    o = ord(c)
    if style == "fullwidth":
        return chr(o - 0x21 + 0xFF01) if 0x21 <= o <= 0x7E else c
    upper, lower, digit = "A" <= c <= "Z", "a" <= c <= "z", "0" <= c <= "9"
    if style == "bold":
        if upper:
            return chr(0x1D400 + o - 0x41)
        if lower:
            return chr(0x1D41A + o - 0x61)
        return chr(0x1D7CE + o - 0x30) if digit else c
    if style == "script":
        if c in SCRIPT_HOLES:
            return chr(SCRIPT_HOLES[c])
        if upper:
            return chr(0x1D49C + o - 0x41)
        return chr(0x1D4B6 + o - 0x61) if lower else c
    if style == "circled":
        if upper:
            return chr(0x24B6 + o - 0x41)
        if lower:
            return chr(0x24D0 + o - 0x61)
        if digit:
            return "\u24ea" if c == "0" else chr(0x2460 + o - 0x31)
        return c
    raise ValueError(style)


# ---------------------------------------------------------------------------------------------
# Word transforms. Each takes a word, the row's RNG and the row's style choices, and returns the
# rewritten word. They work on characters, so they compose (see ORDER).
# ---------------------------------------------------------------------------------------------

def _pick(rng: random.Random, idx: list[int], p: float) -> list[int]:
    """Each index with probability p, but at least one (when there is one)."""
    chosen = [i for i in idx if rng.random() < p]
    return chosen or ([rng.choice(idx)] if idx else [])


def t_leet(word: str, rng: random.Random, style: dict) -> str:
    chars = list(word)
    for i in _pick(rng, [i for i, c in enumerate(chars) if c.lower() in LEET], 0.65):
        chars[i] = rng.choice(LEET[chars[i].lower()])
    return "".join(chars)


def t_homoglyph(word: str, rng: random.Random, style: dict) -> str:
    chars = list(word)
    for i in _pick(rng, [i for i, c in enumerate(chars) if c in HOMOGLYPHS], 0.7):
        chars[i] = rng.choice(HOMOGLYPHS[chars[i]])
    return "".join(chars)


def t_spacing(word: str, rng: random.Random, style: dict) -> str:
    return " ".join(word)


def t_dots(word: str, rng: random.Random, style: dict) -> str:
    return rng.choice(".-_").join(word)


def t_zero_width(word: str, rng: random.Random, style: dict) -> str:
    if len(word) < 2:
        return word
    gaps = _pick(rng, list(range(1, len(word))), 0.75)
    out = []
    for i, c in enumerate(word):
        if i in gaps:
            out.append(rng.choice(ZERO_WIDTH))
        out.append(c)
    return "".join(out)


def t_fullwidth(word: str, rng: random.Random, style: dict) -> str:
    return "".join(_styled(c, style["fullwidth"]) for c in word)


def t_combining(word: str, rng: random.Random, style: dict) -> str:
    kind = style["combining"]
    letters = [i for i, c in enumerate(word) if c.isalnum()]
    if kind == "accents":
        marked = set(_pick(rng, letters, 0.6))
    else:
        marked = set(letters)
    out = []
    for i, c in enumerate(word):
        out.append(c)
        if i in marked:
            if kind == "strike":
                out.append("\u0336")
            elif kind == "underline":
                out.append("\u0332")
            else:
                out.append("".join(chr(rng.choice(ACCENTS)) for _ in range(rng.choice((1, 1, 2)))))
    return "".join(out)


def t_repeated(word: str, rng: random.Random, style: dict) -> str:
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if not letters:
        return word
    vowels = [i for i in letters if word[i].lower() in "aeiouy"]
    candidates = vowels + [letters[-1]]
    picks = {rng.choice(candidates)}
    if len(letters) > 5 and rng.random() < 0.5:
        picks.add(rng.choice(letters))
    out = []
    for i, c in enumerate(word):
        out.append(c * (1 + rng.randint(2, 4)) if i in picks else c)
    return "".join(out)


TRANSFORMS = {"leet": t_leet, "homoglyph": t_homoglyph, "spacing": t_spacing, "dots": t_dots,
              "zero-width": t_zero_width, "fullwidth": t_fullwidth, "combining": t_combining,
              "repeated": t_repeated}
# Order of application when two techniques are mixed: letter substitutions, then separators,
# then combining marks (which attach to the letters the separators left).
ORDER = ("repeated", "leet", "homoglyph", "fullwidth", "spacing", "dots", "zero-width", "combining")
MIXED_PAIRS = (("leet", "dots"), ("homoglyph", "zero-width"), ("fullwidth", "spacing"),
               ("repeated", "leet"), ("homoglyph", "combining"), ("leet", "zero-width"),
               ("repeated", "dots"), ("homoglyph", "spacing"), ("fullwidth", "zero-width"),
               ("repeated", "combining"), ("leet", "homoglyph"), ("repeated", "homoglyph"))
assert all(a in ORDER and b in ORDER and ORDER.index(a) < ORDER.index(b) for a, b in MIXED_PAIRS)


# ---------------------------------------------------------------------------------------------
# Base prompts
# ---------------------------------------------------------------------------------------------

SECTION = re.compile(r"^== (harmful|benign) ([a-z_-]+) ([a-z]{2}) ==$")
SPAN = re.compile(r"\[([^\[\]]+)\]")


def read_bases(path: Path) -> list[tuple[str, str, str, str]]:
    """(label, category, lang, prompt) in file order; harmful English prompts keep [spans]."""
    rows, section = [], None
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = SECTION.match(line)
        if m:
            section = m.groups()
            label, category, lang = section
            ok = category in (CATEGORIES if label == "harmful" else BENIGN_SOURCES)
            if not ok or lang not in LANGS or category.startswith("emoji-"):
                sys.exit(f"{path}:{n}: bad section header {line!r}")
            continue
        if section is None:
            sys.exit(f"{path}:{n}: prompt before the first section header")
        if "\t" in raw or "\\" in raw:
            sys.exit(f"{path}:{n}: prompts may not contain a tab or a backslash")
        label, category, lang = section
        spans = SPAN.findall(line)
        if label == "harmful" and lang == "en":
            if not spans or "[" in SPAN.sub("", line) or "]" in SPAN.sub("", line):
                sys.exit(f"{path}:{n}: an English harmful prompt needs balanced [sensitive] spans")
        elif "[" in line or "]" in line:
            sys.exit(f"{path}:{n}: [spans] belong only in English harmful prompts")
        rows.append((label, category, lang, line))
    return rows


def segments(prompt: str, whole: bool) -> list[tuple[str, bool]]:
    """Split a prompt into (text, sensitive) pieces: the [spans], or every word when whole."""
    if whole:
        plain = SPAN.sub(r"\1", prompt)
        return [(p, not p.isspace()) for p in re.split(r"(\s+)", plain) if p]
    out, pos = [], 0
    for m in SPAN.finditer(prompt):
        if m.start() > pos:
            out.append((prompt[pos:m.start()], False))
        out.append((m.group(1), True))
        pos = m.end()
    if pos < len(prompt):
        out.append((prompt[pos:], False))
    return out


def obfuscate(prompt: str, evasion: str, rng: random.Random) -> str:
    steps = list(rng.choice(MIXED_PAIRS)) if evasion == "mixed" else [evasion]
    style = {
        "fullwidth": rng.choice(("fullwidth", "fullwidth", "fullwidth", "bold", "script", "circled")),
        "combining": rng.choice(("strike", "strike", "underline", "accents", "accents")),
    }
    whole = evasion in WHOLE_OK and rng.random() < WHOLE_PROMPT_SHARE
    plain = SPAN.sub(r"\1", prompt)
    for attempt_whole in (whole, True):
        pieces = []
        for text, sensitive in segments(prompt, attempt_whole):
            if not sensitive:
                pieces.append(text)
                continue
            words = []
            for word in text.split(" "):
                for step in steps:
                    word = TRANSFORMS[step](word, rng, style)
                words.append(word)
            # Spaced-out letters keep word boundaries visible with a wider gap.
            pieces.append(("   " if "spacing" in steps else " ").join(words))
        result = "".join(pieces)
        if result != plain:
            return result
    raise RuntimeError(f"{evasion} left {plain!r} unchanged")


def harmful_rows(bases: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for ci, category in enumerate(CATEGORIES):
        english = [p for (lb, c, lg, p) in bases if lb == "harmful" and c == category and lg == "en"]
        for lang in LANGS[1:]:
            for p in (p for (lb, c, lg, p) in bases
                      if lb == "harmful" and c == category and lg == lang):
                rows.append(("harmful", category, "translated", lang, p))
        for i, prompt in enumerate(english):
            rows.append(("harmful", category, "plain", "en", SPAN.sub(r"\1", prompt)))
            for j in range(VARIANTS_PER_BASE):
                evasion = OBFUSCATIONS[(i * VARIANTS_PER_BASE + j + ci) % len(OBFUSCATIONS)]
                rng = random.Random(f"{SEED}/{category}/{i}/{j}/{evasion}")
                rows.append(("harmful", category, evasion, "en", obfuscate(prompt, evasion, rng)))
    return rows


# ---------------------------------------------------------------------------------------------
# Emoji
# ---------------------------------------------------------------------------------------------

def base_hexcode(hexcode: str) -> str:
    return "-".join(p for p in hexcode.upper().split("-") if p != "FE0F")


def emoji_rows(data_path: Path) -> list[tuple[str, str, str, str, str]]:
    entries = json.loads(data_path.read_text(encoding="utf-8"))
    labels, tags = set(), set()
    for e in entries:
        if base_hexcode(e["hexcode"]) in EXCLUDED_HEXCODES:
            continue
        labels.add(e["label"])
        for skin in e.get("skins") or ():
            labels.add(skin["label"])
            tags.update(skin.get("tags") or ())
        tags.update(e.get("tags") or ())
    tags = sorted(t for t in tags if t not in DENY_TAGS and any(c.isalpha() for c in t))
    sample = random.Random(f"{SEED}/emoji-tags").sample(tags, min(TAG_SAMPLE, len(tags)))
    return ([("benign", "emoji-label", "plain", "en", lb) for lb in sorted(labels)]
            + [("benign", "emoji-tag", "plain", "en", t) for t in sorted(sample)])


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------

def escape(prompt: str) -> str:
    return prompt.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


# Characters that would break a line-based reader if they appeared raw in a prompt.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")


def build(data_path: Path) -> str:
    bases = [row for path in BASES for row in read_bases(path)]
    rows = harmful_rows(bases)
    rows += [("benign", c, "plain", lg, p) for (lb, c, lg, p) in bases if lb == "benign"]
    rows += emoji_rows(data_path)
    for row in rows:
        if FORBIDDEN.search(row[4]) or not row[4].strip() or row[4] != row[4].strip():
            raise ValueError(f"unusable prompt {row!r}")
    unique = sorted(set(rows))
    dupes = len(rows) - len(unique)
    if dupes:
        print(f"build_corpus: note: {dupes} duplicate row(s) dropped", file=sys.stderr)
    check_coverage(unique)
    lines = [HEADER] + ["\t".join(r[:4] + (escape(r[4]),)) for r in unique]
    return "\n".join(lines) + "\n"


def check_coverage(rows: list[tuple[str, str, str, str, str]]) -> None:
    harmful = [r for r in rows if r[0] == "harmful"]
    benign = [r for r in rows if r[0] == "benign"]
    problems = []
    for category in CATEGORIES:
        have = {r[2] for r in harmful if r[1] == category}
        missing = [e for e in EVASIONS if e not in have]
        if missing:
            problems.append(f"{category}: no rows for {', '.join(missing)}")
        en = sum(1 for r in harmful if r[1] == category and r[2] == "plain")
        if en < 6:
            problems.append(f"{category}: {en} English bases (need 6)")
        for lang in LANGS[1:]:
            n = sum(1 for r in harmful if r[1] == category and r[3] == lang)
            if n < 2:
                problems.append(f"{category}: {n} {lang} rows (need 2)")
    count = lambda src: sum(1 for r in benign if r[1] == src)  # noqa: E731
    minimum = {"harmful": (len(harmful), 300), "benign": (len(benign), 1000),
               "hard-negative": (count("hard-negative"), 80), "kiosk": (count("kiosk"), 150)}
    problems += [f"{k}: {n} rows (need {m})" for k, (n, m) in minimum.items() if n < m]
    if problems:
        raise SystemExit("build_corpus: coverage check failed:\n  " + "\n  ".join(problems))


def default_data_path() -> Path:
    cache = Path(os.environ.get("SIGIL_NPM_CACHE") or HERE / ".cache")
    return cache / "node_modules" / "emojibase-data" / "en" / "data.json"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emojibase", type=Path, default=None,
                    help="emojibase-data en/data.json (default: the fetch-emojibase.sh cache)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"output file (default {OUT})")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 unless --out already holds exactly this output")
    args = ap.parse_args()

    data = args.emojibase or default_data_path()
    if not data.is_file():
        print(f"build_corpus: {data} not found; run tests/redteam/fetch-emojibase.sh first",
              file=sys.stderr)
        return 2
    pkg = data.parent.parent / "package.json"
    version = json.loads(pkg.read_text(encoding="utf-8")).get("version") if pkg.is_file() else None
    if version != EMOJIBASE_VERSION:
        print(f"build_corpus: {data} is emojibase-data {version}, need {EMOJIBASE_VERSION}",
              file=sys.stderr)
        return 2

    text = build(data)
    if args.check:
        current = args.out.read_bytes() if args.out.is_file() else b""
        if current != text.encode("utf-8"):
            print(f"build_corpus: {args.out} differs from the generated corpus; rerun without "
                  "--check and commit the result", file=sys.stderr)
            return 1
        print(f"build_corpus: {args.out} is up to date", file=sys.stderr)
        return 0
    args.out.write_bytes(text.encode("utf-8"))
    print(f"build_corpus: wrote {text.count(chr(10)) - 1} rows to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
