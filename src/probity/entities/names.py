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
    if text.isascii():
        return "Latn" if any(ch.isalpha() for ch in text) else ""
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
    return list(_transliterations(text))


@lru_cache(maxsize=65536)
def _transliterations(text: str) -> tuple[str, ...]:
    if text.isascii():  # every scheme leaves ASCII as it is
        return (_APOSTROPHES.sub("", text),)
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
    return tuple(seen)


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


# Scripts that write every vowel and reach Latin letters one way (Greek does not: ου is "ou" or "oy").
# Between two of them a transliteration is exact enough that names whose consonants agree but whose
# vowels differ ("Olga Barynova", "Oleg Baranov") are different names. From or to any other script
# (Arabic and Hebrew leave most vowels out; Chinese, Japanese, Korean, Thai … reach Latin letters
# through lossy schemes) consonant skeletons are trusted.
_VOWEL_SCRIPTS = frozenset({"Latn", "Cyrl", "Armn", "Geor"})

# Person-name particles: low weight, and the words on either side of a patronymic particle keep their roles
# ("Salman bin Muhammad" is Salman, son of Muhammad; "Muhammad bin Salman" his father's namesake's son).
_PARTICLES = frozenset(
    {"al", "el", "ul", "ur", "ud", "ad", "as", "an", "at", "ar", "de", "da", "do", "dos", "das", "del", "della"}
    | {"di", "du", "la", "le", "van", "von", "der", "den", "ter", "bin", "ibn", "ben", "bint", "binti", "ould"}
    | {"abu", "abou", "umm", "y", "e", "na"}
)
_PATRONYMIC_PARTICLES = frozenset({"bin", "ibn", "ben", "bint", "binti", "ould", "bar", "oglu", "ogly", "kyzy"})

# Organisation words: the legal-form compare forms of ``rigour.names.org_types`` (after
# ``organisation_name``), and words that many unrelated organisations share. They weigh less, and a
# differing generic word is no evidence against a match the way a differing distinctive word is.
_ORG_STOPWORDS = frozenset({"the", "of", "and", "for", "und", "et", "de", "la", "le", "der", "die", "das", "i", "y"})
_ORG_GENERIC = frozenset(
    {
        "company",
        "corporation",
        "corp",
        "co",
        "group",
        "holding",
        "holdings",
        "international",
        "intl",
        "limited",
        "ltd",
        "inc",
        "llc",
        "jsc",
        "ojsc",
        "cjsc",
        "pjsc",
        "ao",
        "oao",
        "zao",
        "pao",
        "ooo",
        "ag",
        "gmbh",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "as",
        "oy",
        "plc",
        "lp",
        "llp",
        "kg",
        "se",
        "pte",
        "pty",
        "enterprise",
        "enterprises",
        "trading",
        "services",
        "industries",
        "systems",
        "solutions",
    }
)

# Digits written for the letters they look like (l33t spellings, OCR): "G4zpr0m" → "gazprom".
_DIGIT_LETTERS = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"})
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _edit_budget(length: int) -> int:
    """Edits a spelling variant of a token this long may have and still be the same token (typo noise)."""
    return 0 if length <= 3 else 1 if length <= 7 else 2 if length <= 12 else 3


def _edits(a: str, b: str) -> int:
    """Levenshtein distance, with two neighbouring letters swapped counted as one edit ("Donlad")."""
    distance = levenshtein(a, b)
    if distance == 2 and len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return 1
    return distance


@lru_cache(maxsize=262144)
def token_similarity(a: str, b: str, lenient: bool = True) -> float:
    """0–1: how alike two name tokens sound after folding (1.0 for equal squashed spellings).

    ``lenient`` (names in different scripts, one of which leaves vowels out or is reached through a lossy
    scheme): equal consonant skeletons count as 0.9. Without it two spellings must be close letter by
    letter: beyond the edit budget of their length a pair scores at most 0.5.
    """
    if a.isdigit() or b.isdigit():
        return 1.0 if a == b else 0.0
    sa, sb = squash(a.translate(_DIGIT_LETTERS)), squash(b.translate(_DIGIT_LETTERS))
    if sa == sb:
        return 1.0
    edits = _edits(sa, sb)
    best = max(_ratio(sa, sb), 1.0 - edits / max(len(sa), len(sb)))
    close = edits <= _edit_budget(max(len(sa), len(sb)))
    if not lenient and not close:
        best = min(best, 0.5)
    if _inflected(sa, sb) or _inflected(sb, sa):
        best = max(best, 0.9)
    if not lenient and edits <= 1 and skeleton(a) == skeleton(b):
        best = max(best, 0.9)
    if lenient:
        ka, kb = skeleton(a), skeleton(b)
        if len(ka) >= 2 and len(kb) >= 2:
            if ka == kb:
                best = max(best, 0.9)
            elif min(len(ka), len(kb)) >= 3:
                best = max(best, 0.85 * _ratio(ka, kb))
    return best


def _is_initial(token: str) -> bool:
    return len(token) == 1 and token.isalpha()


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


def _glue(tokens: list[str], other: list[str]) -> list[str]:
    """``tokens`` with runs of 2–4 neighbours joined where ``other`` writes them as one word
    ("Siemens AG" against "SiemensAG", "Good Will" against "Goodwill", "Plat Ono Vich" against "Platonovich")."""
    wanted = {squash(t) for t in other if len(t) >= 4}
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in (4, 3, 2):
            run = tokens[i : i + size]
            if len(run) == size and squash("".join(run)) in wanted:
                out.append("".join(run))
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return out


def _weight(token: str, kind: str) -> float:
    if kind == "organisation":
        if token in _ORG_STOPWORDS:
            return 0.2
        return 0.5 if token in _ORG_GENERIC else 1.0
    return 0.5 if token in _PARTICLES else 1.0


@lru_cache(maxsize=65536)
def _person_symbols(text: str) -> dict[str, frozenset[str]]:
    """Given names and nicknames of each token, from rigour's person-name data ("ted" and "theodore" share
    one; so do "bill" and "william")."""
    from rigour.names import NameTypeTag, analyze_names

    out: dict[str, set[str]] = {}
    try:
        analysed = analyze_names(NameTypeTag.PER, [text], consolidate=False, phonetics=False, numerics=False)
    except Exception:  # noqa: BLE001 — the library's data is optional help, never a reason to fail
        return {}
    for name in analysed:
        for span in name.spans:
            category = str(span.symbol.category)
            if len(span.parts) == 1 and category.endswith(("NICK", "NAME")):
                out.setdefault(span.parts[0].comparable, set()).add(str(span.symbol.id))
    return {k: frozenset(v) for k, v in out.items()}


def _share_symbol(texts: tuple[str, str], query_token: str, candidate_token: str) -> bool:
    """Whether two tokens are forms of one given name (the candidate's side is read only when the query's
    token is a known given name)."""
    wanted = _person_symbols(texts[0]).get(query_token)
    return bool(wanted and wanted & _person_symbols(texts[1]).get(candidate_token, frozenset()))


def _compare_tokens(
    query: list[str],
    candidate: list[str],
    *,
    lenient: bool = True,
    kind: str = "any",
    symbols: tuple[str, str] | None = None,
) -> NameComparison:
    if not query or not candidate:
        return NameComparison(0.0, ())
    query, candidate = _glue(query, candidate), _glue(candidate, query)
    full = [t for t in query if not _is_initial(t)]
    initials = [t for t in query if _is_initial(t)]
    scored = []
    for qi, q in enumerate(full):
        for ci, c in enumerate(candidate):
            if _is_initial(c):
                continue
            sim = token_similarity(q, c, lenient)
            if symbols is not None and sim < 0.85 and _share_symbol(symbols, q, c):
                sim = 0.85  # a nickname or another form of the same given name
            scored.append((sim, qi, ci))
    scored.sort(reverse=True)
    used_q: dict[int, int] = {}
    used_c: set[int] = set()
    pairs: list[tuple[str, str, float]] = []
    matched = 0.0
    for sim, qi, ci in scored:
        if qi in used_q or ci in used_c or sim < 0.6:
            continue
        used_q[qi] = ci
        used_c.add(ci)
        matched += sim * _weight(full[qi], kind)
        pairs.append((full[qi], candidate[ci], round(sim, 3)))
    if not pairs or all(_weight(a, kind) < 1.0 for a, _, _ in pairs):
        return NameComparison(0.0, ())
    weight = sum(_weight(t, kind) for t in full)
    for initial in initials:
        weight += 0.5
        for ci, token in enumerate(candidate):
            if ci not in used_c and _initial_matches(initial, token):
                used_c.add(ci)
                matched += 0.5
                pairs.append((initial, token, 1.0))
                break
    candidate_weight = sum(_weight(t, kind) if not _is_initial(t) else 0.5 for t in candidate)
    candidate_matched = sum(_weight(candidate[ci], kind) if not _is_initial(candidate[ci]) else 0.5 for ci in used_c)
    query_coverage = matched / weight
    candidate_coverage = candidate_matched / candidate_weight if candidate_weight else 0.0
    score = query_coverage * (0.8 + 0.2 * candidate_coverage)
    if kind == "person":
        # A person's name is often given shorter on either side ("Anjem Choudary" for "Anjem Iftikhar
        # Choudary Mahmood"): omitted words cost little either way, as long as two of them agree.
        query_matched = sum(_weight(full[qi], kind) for qi in used_q) + 0.5 * (len(used_c) - len(used_q))
        quality = matched / query_matched if query_matched else 0.0
        distinctive = sum(1 for qi in used_q if _weight(full[qi], kind) >= 1.0)
        if distinctive >= 2 or len(full) + len(initials) == 1:
            share = query_matched / weight
            score = max(score, quality * (0.75 + 0.25 * share) * (0.8 + 0.2 * candidate_coverage))
    # A distinctive word on each side that the other lacks is a contradiction, not an omission:
    # "Ali Hassan Al-Rawi" and "Ali Hassan Al-Tikriti" are two people; "Ali Hassan" may be either.
    extra_q = sum(1 for qi, t in enumerate(full) if qi not in used_q and _weight(t, kind) >= 1.0)
    extra_c = sum(1 for ci, t in enumerate(candidate) if ci not in used_c and _weight(t, kind) >= 1.0)
    score *= 0.65 ** min(extra_q, extra_c)
    if kind == "organisation":
        score *= 0.85**extra_c  # "Banco Santander" is not "Banco Santander México"
    elif len(full) == 1 and not initials and len(candidate) > 1 and used_q.get(0) != len(candidate) - 1:
        score *= 0.75  # one given name alone is weak evidence ("Michaela" is not "Michelle Obama")
    score *= _order_penalty(full, candidate, used_q)
    return NameComparison(score, tuple(pairs))


def _order_penalty(query: list[str], candidate: list[str], pairing: dict[int, int]) -> float:
    """0.6 when the words on either side of a patronymic particle ("bin", "ibn", "ould" …) swap places."""
    for qi, token in enumerate(query):
        if token in _PATRONYMIC_PARTICLES and 0 < qi < len(query) - 1:
            before, after = pairing.get(qi - 1), pairing.get(qi + 1)
            if before is not None and after is not None and before > after:
                return 0.6
    return 1.0


def _han_only(text: str) -> str:
    letters = [ch for ch in text if ch.isalpha()]
    return "".join(letters) if letters and all(_is_han(ch) for ch in letters) else ""


@dataclass(frozen=True)
class _PreparedName:
    """What ``compare_names`` needs of one name, computed once per name and kind (cached)."""

    han: str
    script: str
    forms: tuple[tuple[str, ...], ...]
    symbols: str | None
    """The text whose given-name symbols apply (a person's name in Latin letters), read only when needed."""


@lru_cache(maxsize=65536)
def _prepared(text: str, kind: str) -> _PreparedName:
    if kind == "organisation":
        text = organisation_name(text)
    han = _han_only(text)
    script = main_script(text)
    forms = tuple(tuple(_name_tokens(f, kind)) for f in transliterations(text)) if not han else ()
    symbols = text if kind != "organisation" and script in {"Latn", ""} else None
    return _PreparedName(han, script, forms, symbols)


@lru_cache(maxsize=262144)
def compare_names(query: str, candidate: str, *, kind: str = "any") -> NameComparison:
    """The best comparison of two names over their transliterations.

    ``kind``: "person", "organisation" (legal forms folded, generic words weigh less, an extra distinctive
    word counts against) or "any". Two names in Chinese characters are compared character by character,
    not through pinyin, which merges characters that sound alike (高市 and 高石 are both "gao shi").
    What is needed of each name (its transliterations, tokens, script, given-name symbols) is computed
    once per name and kept, and so are the results, as screening compares the same names again and again.
    """
    q, c = _prepared(query, kind), _prepared(candidate, kind)
    if q.han and c.han:
        score = _ratio(q.han, c.han)
        score = 1.0 if score == 1.0 else score * 0.75
        return NameComparison(score, ((q.han, c.han, round(score, 3)),))
    if q.han and not q.forms:
        q = _prepared_forms(query, kind)
    if c.han and not c.forms:
        c = _prepared_forms(candidate, kind)
    same_script = q.script == c.script
    lenient = not same_script and not {q.script, c.script} <= _VOWEL_SCRIPTS
    symbols = (q.symbols, c.symbols) if q.symbols is not None and c.symbols is not None else None
    best = NameComparison(0.0, ())
    for qi, query_tokens in enumerate(q.forms):
        for ci, candidate_tokens in enumerate(c.forms):
            if same_script and qi != ci:
                continue  # one script, one scheme: mixing two schemes only adds noise
            result = _compare_tokens(
                list(query_tokens), list(candidate_tokens), lenient=lenient, kind=kind, symbols=symbols
            )
            if result.score > best.score:
                best = result
    return best


@lru_cache(maxsize=16384)
def _prepared_forms(text: str, kind: str) -> _PreparedName:
    """``_prepared`` with the transliterations of a name in Chinese characters (compared with another script)."""
    plain = _prepared(text, kind)
    folded = organisation_name(text) if kind == "organisation" else text
    forms = tuple(tuple(_name_tokens(f, kind)) for f in transliterations(folded))
    return _PreparedName(plain.han, plain.script, forms, plain.symbols)


def _name_tokens(form: str, kind: str) -> list[str]:
    words = [w for part in _CAMEL.split(form) for w in _split(part)] if _CAMEL.search(form) else _split(form)
    if kind == "organisation":
        return words
    return [t for t in words if t not in TITLES]


def name_score(query: str, candidate: str, *, kind: str = "any") -> float:
    """0–1: how well ``query`` matches ``candidate`` (every query token accounted for scores high)."""
    return compare_names(query, candidate, kind=kind).score


def best_name_score(queries: Iterable[str], candidates: Iterable[str], *, kind: str = "any") -> tuple[float, str, str]:
    """The best score over all names of two entities, with the two names that gave it."""
    best = (0.0, "", "")
    candidate_list = list(candidates)
    for query in queries:
        for candidate in candidate_list:
            score = name_score(query, candidate, kind=kind)
            if score > best[0]:
                best = (score, query, candidate)
    return best


def kind_of_schema(schema: str) -> str:
    """ "person", "organisation" or "any" for an FtM schema name (for ``name_score``'s ``kind``)."""
    if schema == "Person":
        return "person"
    if schema in {"Company", "Organization", "PublicBody", "LegalEntity"}:
        return "organisation"
    return "any"


_SHORT_KEY_STOPWORDS = _PARTICLES | _ORG_STOPWORDS | _ORG_GENERIC | {"jr", "sr"}
"""Short words that would make a key shared by too many names ("AG", "al", "of")."""


def name_keys(text: str) -> set[str]:
    """Blocking keys of a name: what a candidate must share with a query for the scorer to see it.

    The skeleton of each full token in every transliteration; for a token too short to have one ("Ted",
    "Doe") its squashed spelling marked with "_"; for a token with digits in it the skeleton of its
    letters read from the digits ("G4zpr0m"); and the skeleton of the whole name written as one word, so
    that "SergeiLavrov" and "Sergei Lavrov" meet (camel-case words are also split).
    """
    keys: set[str] = set()
    for form in transliterations(text):
        words = _name_tokens(form, "organisation")
        words = [t for t in words if t not in TITLES]
        for token in words:
            if _is_initial(token):
                continue
            key = skeleton(token)
            if len(key) >= 2:
                keys.add(key)
            elif token.isalpha() and len(token) >= 2 and token not in _SHORT_KEY_STOPWORDS:
                keys.add("_" + squash(token))
            if any(ch.isdigit() for ch in token) and any(ch.isalpha() for ch in token):
                folded = skeleton(token.translate(_DIGIT_LETTERS))
                if len(folded) >= 2:
                    keys.add(folded)
        if 1 < len(words) <= 4:
            joined = skeleton("".join(words))
            if len(joined) >= 4:
                keys.add(joined)
    return keys


@lru_cache(maxsize=65536)
def index_keys(text: str) -> frozenset[str]:
    """The keys stored for a name in the name key table: ``name_keys``; the key of a word without the
    final "s" that Baltic and Greek nominatives add to a foreign name ("Lavrovs", "Putinas"); and, for a
    name of two to four words, each unordered pair of its word keys ("kn+smt" for "John Smith" and "Smith,
    John"): a pair is rare where each word is common, so it ranks the right candidates first."""
    keys = set(name_keys(text))
    for form in transliterations(text):
        words = [t for t in _name_tokens(form, "organisation") if t not in TITLES and not _is_initial(t)]
        word_keys: list[str] = []
        for token in words:
            key = skeleton(token)
            if len(token) >= 5 and token.endswith("s") and token.isalpha():
                stem = skeleton(token[:-1])
                if len(stem) >= 2:
                    keys.add(stem)
            if len(key) >= 2:
                word_keys.append(key)
            elif token.isalpha() and len(token) >= 2 and token not in _SHORT_KEY_STOPWORDS:
                word_keys.append("_" + squash(token))
        distinct = sorted(set(word_keys))
        if 2 <= len(distinct) <= 4:
            for i, left in enumerate(distinct):
                for right in distinct[i + 1 :]:
                    keys.add(f"{left}+{right}")
    return frozenset(keys)


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
