"""Generated text data, framework-free: human-written dates and two-level documents.

`dates`: one calendar date written in one of many human formats ("25 November
2026", "11/25/26", "Wed, Nov 25 2026", ...) paired with its ISO form
("2026-11-25"), over one character vocabulary.

`documents`: token ids shaped (sentences, words) whose label needs both levels:
a class bit is set when SOME sentence holds marker word `a` BEFORE marker `b`.
Every document holds each marker exactly twice whatever its label (distractor
sentences hold `b ... a`, or `a` and `b` in different sentences), so a bag of
words sees nothing, and a flat reader must learn where sentences end.
"""
from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import numpy as np

from modules.attention.spec import BOS, DOC_VOCAB_SIZE, PAD, TARGET_LENGTH
from modules.errors import DataError

# --- dates ------------------------------------------------------------------------------------
# PAD and BOS (0, 1) are the networks' token conventions (`modules/attention/spec.py`), shared by the
# date and document vocabularies (UNK = 1 for words)
DATE_CHARS = "0123456789 ,./-" + "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DATE_VOCAB = ("<pad>", "<bos>") + tuple(DATE_CHARS)  # one vocabulary for source and target
CHAR_ID = {c: i for i, c in enumerate(DATE_VOCAB)}
SOURCE_LENGTH = 32  # longest format ("Wednesday, September 30th, 2026" is 31) plus room
# TARGET_LENGTH (10, "YYYY-MM-DD") is the decoder's number of steps: `modules/attention/spec.py`
FIRST_YEAR, LAST_YEAR = 1950, 2049  # two-digit years read as 1950..2049, so they stay unambiguous

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def ordinal(day: int) -> str:
    """1 -> 1st, 2 -> 2nd, 11 -> 11th, 22 -> 22nd."""
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


# Every format writes (day, month, year) unambiguously: slashes are always month/day (US),
# dots with the year last are day.month (European), the year first is always year-month-day.
DATE_FORMATS = {
    "day_month_year": lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "us_short": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    "us_long": lambda d: f"{d.month}/{d.day}/{d.year}",
    "weekday_abbrev": lambda d: f"{WEEKDAYS[d.weekday()][:3]}, {MONTHS[d.month - 1][:3]} {d.day} {d.year}",
    "year_dots": lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",
    "year_slashes": lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "month_ordinal": lambda d: f"{MONTHS[d.month - 1]} {ordinal(d.day)}, {d.year}",
    "european_dots": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "abbrev_comma": lambda d: f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    "dashed_abbrev": lambda d: f"{d.day:02d}-{MONTHS[d.month - 1][:3]}-{d.year}",
    "weekday_lower": lambda d: f"{WEEKDAYS[d.weekday()].lower()}, {d.day} {MONTHS[d.month - 1].lower()} {d.year}",
    "upper_abbrev": lambda d: f"{d.day} {MONTHS[d.month - 1][:3].upper()} {d.year}",
    "weekday_full": lambda d: f"{WEEKDAYS[d.weekday()]}, {MONTHS[d.month - 1]} {ordinal(d.day)}, {d.year}",
    "the_ordinal_of": lambda d: f"the {ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    "compact": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
    "short_year_abbrev": lambda d: f"{d.day} {MONTHS[d.month - 1][:3].lower()} {d.year % 100:02d}",
}


def parse_date(text: str) -> dt.date:
    """The date a generated string means (the inverse of DATE_FORMATS, used by the tests)."""
    words = re.findall(r"[A-Za-z]+|\d+", text)
    numbers = [int(w) for w in words if w.isdigit()]
    months = [MONTHS.index(m) + 1 for w in words for m in MONTHS
              if len(w) >= 3 and m.lower().startswith(w.lower())]
    if len(numbers) == 1:  # compact YYYYMMDD
        n = numbers[0]
        return dt.date(n // 10000, n // 100 % 100, n % 100)
    if months:
        day, year = numbers[0], numbers[1]
        year = year if year >= 100 else (1900 + year if year >= 50 else 2000 + year)
        return dt.date(year, months[0], day)
    a, b, c = numbers
    if a >= 1000:
        return dt.date(a, b, c)
    if "/" in text:
        c = c if c >= 100 else (1900 + c if c >= 50 else 2000 + c)
        return dt.date(c, a, b)
    return dt.date(c, b, a)


def encode_chars(text: str, length: int) -> np.ndarray:
    """Character ids of `text`, right-padded with PAD to `length`."""
    if len(text) > length:
        raise DataError(f"{text!r} is longer than {length} characters")
    ids = np.full(length, PAD, dtype=np.int64)
    ids[:len(text)] = [CHAR_ID[c] for c in text]
    return ids


def decode_chars(ids) -> str:
    """Text of character ids, stopping at the first PAD."""
    out = []
    for i in ids:
        if int(i) == PAD:
            break
        out.append(DATE_VOCAB[int(i)] if int(i) > BOS else "")
    return "".join(out)


def generate_dates(n: int, seed: int, exclude: set[str] = frozenset()) -> tuple[list[str], list[str]]:
    """`n` (human-written, ISO) date pairs, formats drawn uniformly; sources in `exclude` are skipped."""
    rng = np.random.default_rng(seed)
    first = dt.date(FIRST_YEAR, 1, 1).toordinal()
    last = dt.date(LAST_YEAR, 12, 31).toordinal()
    formats = list(DATE_FORMATS.values())
    sources, targets, seen = [], [], set(exclude)
    while len(sources) < n:
        date = dt.date.fromordinal(int(rng.integers(first, last + 1)))
        text = formats[int(rng.integers(len(formats)))](date)
        if text in seen:
            continue
        seen.add(text)
        sources.append(text)
        targets.append(date.isoformat())
    return sources, targets


def date_arrays(sources: list[str], targets: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(N, SOURCE_LENGTH) source ids and (N, TARGET_LENGTH) target ids."""
    x = np.stack([encode_chars(s, SOURCE_LENGTH) for s in sources])
    y = np.stack([encode_chars(t, TARGET_LENGTH) for t in targets])
    return x, y


# --- documents ----------------------------------------------------------------------------
UNK = 1
# word ids < DOC_VOCAB_SIZE (the networks' embedding size, `modules/attention/spec.py`); a user's
# folder keeps its most frequent words
DOC_SENTENCES, DOC_WORDS = 10, 12  # generated documents: (sentences, words) per document
MARKERS = ((2, 3), (4, 5))  # (a, b) word ids of the two sentence patterns
FIRST_FILLER = 6
DOC_CLASSES = ("neither", "first", "second", "both")  # which ordered patterns occur


_ZIPF_CDF = np.cumsum(1.0 / np.arange(1, DOC_VOCAB_SIZE - FIRST_FILLER + 1))
_ZIPF_CDF /= _ZIPF_CDF[-1]


def _filler(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` filler word ids, Zipf-distributed over the rest of the vocabulary."""
    return FIRST_FILLER + np.searchsorted(_ZIPF_CDF, rng.random(n), side="right").clip(max=len(_ZIPF_CDF) - 1)


def generate_document(rng: np.random.Generator, label: int) -> np.ndarray:
    """One (DOC_SENTENCES, DOC_WORDS) document of class `label` (bit j: pattern j occurs)."""
    n_sentences = int(rng.integers(8, DOC_SENTENCES + 1))
    lengths = rng.integers(5, DOC_WORDS + 1, size=n_sentences)
    doc = np.zeros((DOC_SENTENCES, DOC_WORDS), dtype=np.int64)
    for s, length in enumerate(lengths):
        doc[s, :length] = _filler(rng, length)
    free = list(rng.permutation(n_sentences))  # each event takes sentences of its own

    def two_positions(length):
        i, j = sorted(rng.choice(length, size=2, replace=False))
        return int(i), int(j)

    for bit, (a, b) in enumerate(MARKERS):
        # two events per pattern whatever the label, so each marker occurs exactly twice
        events = ["ordered"] if label >> bit & 1 else []
        while len(events) < 2:
            events.append("reversed" if rng.random() < 0.5 else "split")
        for event in events:
            if event == "split":  # a in one sentence, b in a later one: a before b, but not together
                s1, s2 = sorted((free.pop(), free.pop()))
                doc[s1, rng.integers(lengths[s1])] = a
                doc[s2, rng.integers(lengths[s2])] = b
            else:
                s = free.pop()
                i, j = two_positions(lengths[s])
                doc[s, i], doc[s, j] = (a, b) if event == "ordered" else (b, a)
    return doc


def generate_documents(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` documents (N, DOC_SENTENCES, DOC_WORDS) and balanced labels (N,)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(DOC_CLASSES))
    return np.stack([generate_document(rng, int(y)) for y in labels]), labels.astype(np.int64)


# --- a user's text ------------------------------------------------------------------------
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[list[str]]:
    """Sentences of lower-case words; empty sentences dropped."""
    sentences = (_WORD.findall(part.lower()) for part in _SENTENCE_END.split(text))
    return [s for s in sentences if s]


def build_vocabulary(documents: list[list[list[str]]], size: int = DOC_VOCAB_SIZE) -> dict[str, int]:
    """The `size - 2` most frequent words (ties alphabetical) -> ids 2.., after PAD and UNK."""
    counts = Counter(w for doc in documents for sentence in doc for w in sentence)
    ranked = sorted(counts, key=lambda w: (-counts[w], w))[:size - 2]
    return {w: i + 2 for i, w in enumerate(ranked)}


def encode_documents(documents: list[list[list[str]]], vocabulary: dict[str, int],
                     shape: tuple[int, int]) -> np.ndarray:
    """(N, sentences, words) ids; longer documents and sentences are cut, unknown words -> UNK."""
    n_sentences, n_words = shape
    out = np.zeros((len(documents), n_sentences, n_words), dtype=np.int64)
    for d, doc in enumerate(documents):
        for s, sentence in enumerate(doc[:n_sentences]):
            ids = [vocabulary.get(w, UNK) for w in sentence[:n_words]]
            out[d, s, :len(ids)] = ids
    return out
