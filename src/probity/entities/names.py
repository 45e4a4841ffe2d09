"""Names across scripts: normalisation, transliteration aliases, phonetic keys and one name score.

Every name is turned into one or more *forms*: lists of lower-case ASCII tokens, one form per
transliteration scheme (ICU ``Any-Latin; Latin-ASCII``, ``anyascii`` for what ICU leaves untouched,
``pypinyin`` for Chinese characters). Each token is also *squashed* (spelling conventions that differ
between languages are folded: w/v, ph/f, ou/u, y/i …) and reduced to a consonant *skeleton*
(vowels dropped, similar consonants merged), so "Poutine", "Putyin", "بوتين" (bwtyn) and "푸틴"
(putin) meet.

``name_score(query, candidate)`` compares two names token by token (best one-to-one pairing,
initials match a token with the same first sound) and returns 0–1; ``NAME_MATCH_THRESHOLD`` is the
fixed threshold used by the recall benchmark, the tests and screening. ``name_keys`` gives the keys
used for blocking in entity resolution. Company names have their legal forms folded ("Limited" →
"ltd", "Aktiengesellschaft" → "ag") before all this.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import icu
from anyascii import anyascii
from rigour.names.org_types import replace_org_types_compare
from rigour.text.distance import levenshtein

NAME_MATCH_THRESHOLD = 0.8
"""A pair of names scoring at least this is a name match (fixed; used by benchmark, tests and screening)."""

# Honorifics and office titles that are not part of a name (ASCII, after transliteration).
TITLES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "sir",
        "dame",
        "lord",
        "lady",
        "he",
        "hon",
        "rev",
        "president",
        "presidente",
        "prasident",
        "praesident",
        "presiden",
        "presedintele",
        "predsjednik",
        "prezident",
        "prezydent",
        "elnok",
        "prezidente",
        "presidentti",
        "herr",
        "frau",
        "senor",
        "sr",
        "sra",
        "gospodin",
        "gospozha",
        "sayyid",
        "sheikh",
        "shaykh",
    }
)

# Scripts by the first word of a character's Unicode name (ISO 15924 codes).
_SCRIPT_PREFIXES = {
    "LATIN": "Latn",
    "CYRILLIC": "Cyrl",
    "GREEK": "Grek",
    "ARABIC": "Arab",
    "HEBREW": "Hebr",
    "GEORGIAN": "Geor",
    "ARMENIAN": "Armn",
    "HANGUL": "Hang",
    "HIRAGANA": "Jpan",
    "KATAKANA": "Jpan",
    "CJK": "Hani",
    "DEVANAGARI": "Deva",
    "BENGALI": "Beng",
    "KANNADA": "Knda",
    "TAMIL": "Taml",
    "TELUGU": "Telu",
    "GUJARATI": "Gujr",
    "GURMUKHI": "Guru",
    "MALAYALAM": "Mlym",
    "THAI": "Thai",
    "KHMER": "Khmr",
    "MYANMAR": "Mymr",
    "LAO": "Laoo",
    "ETHIOPIC": "Ethi",
    "SINHALA": "Sinh",
}

_APOSTROPHES = re.compile(r"['ʼʻ’`´]")
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―·・•,;/\\|()\[\]{}\"'`’‘“”«»_+&.:!?]+")


@lru_cache(maxsize=1)
def _icu_transliterator() -> Any:
    return icu.Transliterator.createInstance("Any-Latin; Latin-ASCII")


def char_script(char: str) -> str | None:
    """The ISO 15924 code of one letter's script, or None for digits, punctuation and marks."""
    if not char.isalpha():
        return None
    try:
        first = unicodedata.name(char).split(" ", 1)[0]
    except ValueError:
        return None
    return _SCRIPT_PREFIXES.get(first, "Zyyy")


def text_scripts(text: str) -> set[str]:
    """The scripts a text is written in ({"Latn"}, {"Cyrl"}, {"Latn", "Cyrl"} for a mixed name …)."""
    return {s for s in (char_script(ch) for ch in text) if s}


def main_script(text: str) -> str:
    """The script of most letters of ``text`` ("" when it has no letters)."""
    counts: dict[str, int] = {}
    for char in text:
        script = char_script(char)
        if script:
            counts[script] = counts.get(script, 0) + 1
    return max(sorted(counts), key=lambda s: counts[s]) if counts else ""


def _is_han(char: str) -> bool:
    return char_script(char) == "Hani"


def _pinyin(text: str) -> str:
    """Chinese characters as pinyin: a foreign name's parts (split by ·) joined, a Chinese name as surname + given."""
    from pypinyin import lazy_pinyin  # a fifth of a second to import, for Chinese-character names only

    words = []
    for segment in _SEPARATORS.split(text):
        if not segment:
            continue
        syllables = [s for s in lazy_pinyin(segment) if s.strip()]
        han = sum(1 for ch in segment if _is_han(ch))
        if 2 <= han <= 3 and len(syllables) == han and "·" not in text and "・" not in text:
            # A Chinese personal name: one-character surname, then the given name.
            words.append(syllables[0])
            words.append("".join(syllables[1:]))
        else:
            words.append("".join(syllables))
    return " ".join(words)


def transliterations(text: str) -> list[str]:
    """``text`` in ASCII by every scheme that applies, distinct, best first."""
    text = unicodedata.normalize("NFC", text)
    forms: list[str] = []
    if any(_is_han(ch) for ch in text):
        forms.append(_pinyin(text))
    icu_form = _icu_transliterator().transliterate(text)
    forms.append(anyascii(icu_form))  # anyascii finishes what ICU leaves in its script (Khmer, Urdu letters)
    forms.append(anyascii(text))
    if "Grek" in text_scripts(text):
        forms.append(anyascii(_modern_greek(text)))
    forms = [_APOSTROPHES.sub("", form) for form in forms]
    seen: list[str] = []
    for form in forms:
        if form not in seen:
            seen.append(form)
    return seen


# Modern Greek writes b, d, g with two letters (μπ, ντ, γκ) and says β as v.
_GREEK_DIGRAPHS = (
    ("μπ", "b"),
    ("ΜΠ", "B"),
    ("Μπ", "B"),
    ("ντ", "d"),
    ("ΝΤ", "D"),
    ("Ντ", "D"),
    ("γκ", "g"),
    ("ΓΚ", "G"),
    ("Γκ", "G"),
    ("β", "v"),
    ("Β", "V"),
)


def _modern_greek(text: str) -> str:
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    for old, new in _GREEK_DIGRAPHS:
        text = text.replace(old, new)
    return text


def normalise(text: str) -> str:
    """Lower-case ASCII, punctuation to single spaces, honorifics and titles removed: the display key."""
    return " ".join(tokens(text))


def tokens(text: str, *, transliteration: int = 0) -> list[str]:
    """The name's tokens in one transliteration (0 = best), without titles."""
    forms = transliterations(text)
    form = forms[min(transliteration, len(forms) - 1)]
    return [t for t in _split(form) if t not in TITLES]


def _split(form: str) -> list[str]:
    return [t for t in _SEPARATORS.split(form.lower()) if t and any(ch.isalnum() for ch in t)]


def organisation_name(text: str) -> str:
    """A company name with its legal form in a compare form ("Limited" → "ltd", "GmbH" → "gmbh")."""
    try:
        return replace_org_types_compare(text)
    except Exception:  # noqa: BLE001 — the library's tables are optional help, never a reason to fail
        return text


# --- phonetic folding ----------------------------------------------------------------------

_SQUASH_RULES = (
    ("tsch", "ch"),
    ("sch", "sh"),
    ("tch", "ch"),
    ("chzh", "j"),
    ("dzh", "j"),
    ("zh", "j"),
    ("kh", "h"),
    ("ph", "f"),
    ("th", "t"),
    ("gy", "d"),
    ("dz", "d"),
    ("ck", "k"),
    ("w", "v"),
    ("ou", "u"),
    ("oe", "u"),
    ("ue", "u"),
    ("ae", "e"),
    ("ij", "i"),
    ("iy", "i"),
    ("yi", "i"),
    ("y", "i"),
    ("q", "k"),
    ("x", "ks"),
    ("c", "k"),
)
_SKELETON_CLASSES = str.maketrans(
    {
        "b": "p",
        "f": "p",
        "v": "p",
        "w": "p",
        "d": "t",
        "g": "k",
        "q": "k",
        "c": "k",
        "j": "k",
        "x": "k",
        "r": "l",
        "z": "s",
    }
)
_VOWELS = frozenset("aeiouyh'")


@lru_cache(maxsize=65536)
def squash(token: str) -> str:
    """Spelling conventions folded: "poutine" → "putin", "wladimir" → "vladimir", "volodymyr" → "volodimir"."""
    token = token.lower().replace("'", "")
    for old, new in _SQUASH_RULES:
        token = token.replace(old, new)
    token = re.sub(r"(.)\1+", r"\1", token)
    if token.endswith("ng"):  # Chinese -ng finals are -н in Russian (Palladius): Zhang = Чжан
        token = token[:-1]
    if len(token) > 4 and token.endswith("e"):
        token = token[:-1]
    return token


@lru_cache(maxsize=65536)
def skeleton(token: str) -> str:
    """Consonants only, similar sounds merged: "vladimir" → "pltml", "bwtyn" → "ptn", "putina" → "ptn"."""
    squashed = squash(token).replace("ts", "t").translate(_SKELETON_CLASSES)
    merged = re.sub(r"(.)\1+", r"\1", squashed)  # only letters side by side, so "potanin" keeps both n
    return "".join(ch for ch in merged if ch not in _VOWELS)


def _ratio(a: str, b: str) -> float:
    longest = max(len(a), len(b))
    return 1.0 - levenshtein(a, b) / longest if longest else 1.0


# Case and gender endings that some languages add to a foreign name (Vladimiras Putinas, Putins).
_INFLECTIONS = ("as", "is", "us", "s", "a", "i", "e", "y", "u", "o")


def _inflected(longer: str, shorter: str) -> bool:
    return len(shorter) >= 4 and longer.startswith(shorter) and longer[len(shorter) :] in _INFLECTIONS


@lru_cache(maxsize=262144)
def token_similarity(a: str, b: str) -> float:
    """0–1: how alike two name tokens sound after folding (1.0 for equal squashed spellings)."""
    sa, sb = squash(a), squash(b)
    if sa == sb:
        return 1.0
    best = _ratio(sa, sb)
    if _inflected(sa, sb) or _inflected(sb, sa):
        best = max(best, 0.9)
    ka, kb = skeleton(a), skeleton(b)
    if len(ka) >= 2 and len(kb) >= 2:
        if ka == kb:
            best = max(best, 0.9)
        elif min(len(ka), len(kb)) >= 3:
            best = max(best, 0.85 * _ratio(ka, kb))
    return best


def _is_initial(token: str) -> bool:
    return len(token) == 1


def _initial_matches(initial: str, token: str) -> bool:
    if token.startswith(initial):
        return True
    first = skeleton(initial + "a")[:1] or initial
    return bool(skeleton(token)) and skeleton(token)[0] == first


@dataclass(frozen=True)
class NameComparison:
    """The score of two names and which tokens were paired (for the explanation shown to analysts)."""

    score: float
    pairs: tuple[tuple[str, str, float], ...]


def _compare_tokens(query: list[str], candidate: list[str]) -> NameComparison:
    if not query or not candidate:
        return NameComparison(0.0, ())
    full = [t for t in query if not _is_initial(t)]
    initials = [t for t in query if _is_initial(t)]
    scored = sorted(
        (
            (token_similarity(q, c), qi, ci)
            for qi, q in enumerate(full)
            for ci, c in enumerate(candidate)
            if not _is_initial(c)
        ),
        reverse=True,
    )
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[str, str, float]] = []
    matched = 0.0
    for sim, qi, ci in scored:
        if qi in used_q or ci in used_c or sim < 0.6:
            continue
        used_q.add(qi)
        used_c.add(ci)
        matched += sim
        pairs.append((full[qi], candidate[ci], round(sim, 3)))
    if not pairs:
        return NameComparison(0.0, ())
    weight = float(len(full))
    for initial in initials:
        weight += 0.5
        for ci, token in enumerate(candidate):
            if ci not in used_c and _initial_matches(initial, token):
                used_c.add(ci)
                matched += 0.5
                pairs.append((initial, token, 1.0))
                break
    query_coverage = matched / weight
    candidate_coverage = len(used_c) / len(candidate)
    return NameComparison(query_coverage * (0.8 + 0.2 * candidate_coverage), tuple(pairs))


def compare_names(query: str, candidate: str) -> NameComparison:
    """The best comparison of two names over every pair of their transliterations."""
    best = NameComparison(0.0, ())
    for query_form in transliterations(query):
        query_tokens = [t for t in _split(query_form) if t not in TITLES]
        for candidate_form in transliterations(candidate):
            candidate_tokens = [t for t in _split(candidate_form) if t not in TITLES]
            result = _compare_tokens(query_tokens, candidate_tokens)
            if result.score > best.score:
                best = result
    return best


def name_score(query: str, candidate: str) -> float:
    """0–1: how well ``query`` matches ``candidate`` (every query token accounted for scores high)."""
    return compare_names(query, candidate).score


def best_name_score(queries: Iterable[str], candidates: Iterable[str]) -> tuple[float, str, str]:
    """The best score over all names of two entities, with the two names that gave it."""
    best = (0.0, "", "")
    candidate_list = list(candidates)
    for query in queries:
        for candidate in candidate_list:
            score = name_score(query, candidate)
            if score > best[0]:
                best = (score, query, candidate)
    return best


def name_keys(text: str) -> set[str]:
    """Blocking keys of a name: the skeleton of each full token in every transliteration."""
    keys: set[str] = set()
    for form in transliterations(text):
        for token in _split(form):
            if token in TITLES or _is_initial(token):
                continue
            key = skeleton(token)
            if len(key) >= 2:
                keys.add(key)
    return keys


def name_fingerprint(text: str) -> str:
    """Order-free key of a full name: squashed tokens of the best transliteration, sorted."""
    return " ".join(sorted(squash(t) for t in tokens(text) if not _is_initial(t)))


def latin_aliases(text: str) -> list[str]:
    """Latin spellings of a name in another script (empty for a name already in Latin letters)."""
    if text_scripts(text) <= {"Latn"}:
        return []
    return [" ".join(w.capitalize() for w in _split(form)) for form in transliterations(text)]


# --- addresses ---------------------------------------------------------------------------------------

STREET_TYPES: dict[str, str] = {
    "st": "street",
    "str": "strasse",
    "strasse": "strasse",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "bd": "boulevard",
    "sq": "square",
    "ln": "lane",
    "dr": "drive",
    "aly": "alley",
    "emb": "embankment",
    "pl": "place",
    "cres": "crescent",
    "ct": "court",
    "cl": "close",
    "hwy": "highway",
    "pde": "parade",
    "tce": "terrace",
    "cct": "circuit",
    "pkwy": "parkway",
    "ul": "ulitsa",
    "pr": "prospekt",
}
"""Street types written short, and their long form (English, German, Russian transliterated)."""
_POSTCODE = re.compile(r"^(?=.*\d)[a-z0-9]{3,10}$")


@dataclass(frozen=True)
class AddressParts:
    """An address folded for comparison: the street with its house number, the postcode, the city."""

    street: str | None
    postcode: str | None
    city: str | None


def _address_tokens(text: str) -> list[str]:
    folded = anyascii(_icu_transliterator().transliterate(unicodedata.normalize("NFC", text))).lower()
    return [STREET_TYPES.get(t, t) for t in _SEPARATORS.split(folded) if t and any(ch.isalnum() for ch in t)]


def address_parts(text: str | None, *, postcode: str | None = None, city: str | None = None) -> AddressParts:
    """The comparable parts of an address given as one text ("Station Rd. 12, 10482 Demopolis, Demoland")
    and, when the source gives them apart, its postcode and city.

    Letters are folded to lower-case ASCII and street types spelt out ("Rd." → "road"). In the text, the
    first comma-separated part is the street; the postcode is a token with a digit (3–10 letters or digits)
    in a later part, and the city the other words of that part (or of the part after the street when no
    postcode is found there). A text without commas is all street.
    """
    segments = [_address_tokens(s) for s in (text or "").split(",")]
    segments = [s for s in segments if s]
    street_tokens: list[str] = segments[0] if segments else []
    found_postcode: str | None = None
    found_city: str | None = None
    for segment in segments[1:]:
        codes = [t for t in segment if _POSTCODE.match(t)]
        words = [t for t in segment if t not in codes]
        if codes and found_postcode is None:
            found_postcode = codes[0]
            found_city = " ".join(words) or found_city
            break
        if found_city is None and words:
            found_city = " ".join(words)
    if postcode and postcode.strip():
        found_postcode = "".join(_address_tokens(postcode)) or found_postcode
    if city and city.strip():
        found_city = " ".join(_address_tokens(city)) or found_city
    return AddressParts(" ".join(street_tokens) or None, found_postcode or None, found_city or None)
