"""Reading records from outside JSON files one at a time, with every bad record named and its neighbours kept.

Interface (independent of any module; the BODS ingest and the FtM import use it)::

    from probity.core.records import read_records

    for record in read_records(path, container_key="statements"):
        if record.error:      # a plain reason: "the record is not valid JSON: … (line 12)"
            ...               # report record.number / record.line, keep going
        else:
            use(record.value)

A file is a JSON array of records (streamed: the whole array is never parsed at once), JSON Lines (one
record a line), or one JSON object (an object whose ``container_key`` is a list gives the items of that
list). Each record is checked on its own, so a bad one never stops the others:

- it must be valid JSON and valid UTF-8 text (invalid bytes are reported, not replaced);
- it is nested at most ``Limits.max_depth`` levels deep (a 10 000-level record is rejected, not a crash);
- each number is at most ``Limits.max_number_length`` characters long and fits a float (no ``1e400``, no
  5 000-digit integer, no ``NaN``);
- it holds no NUL character and no lone surrogate escape, which no database stores.

In an array, the records are found by their brackets before they are parsed: a record that is broken
inside its own brackets is rejected and the reading goes on. A break between records (a truncated file, a
missing comma) ends the reading: the records before it were already given, then one last record with
``fatal=True`` says where the break is.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
CHUNK = 1024 * 1024  # characters read at a time


@dataclass(frozen=True)
class Limits:
    """Bounds on one record; beyond them the record is rejected with a plain reason."""

    max_depth: int = 32  # levels of objects and lists inside one record
    max_number_length: int = 40  # characters of one number (sign, digits, point, exponent)
    max_record_chars: int = 8 * 1024 * 1024  # characters of one record


LIMITS = Limits()


@dataclass
class Record:
    """One record of a file: its value, or the plain reason it cannot be read."""

    number: int  # 1-based: position in the array, or line number in JSON Lines
    line: int  # line of the file where the record starts
    value: Any = None
    error: str = ""
    fatal: bool = False  # the reading stopped here: the rest of the file could not be read
    json_lines: bool = False  # a line of JSON Lines: ``number`` is the line

    @property
    def location(self) -> str:
        if self.json_lines:
            return _("line %(line)s") % {"line": self.line}
        return _("record %(number)s (line %(line)s)") % {"number": self.number, "line": self.line}


class RecordError(ValueError):
    """A record that cannot be used; the message is the plain reason."""


# --- one record ---------------------------------------------------------------------------------

_STRUCTURE = re.compile(r'[\[\]{}"]')
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_LITERAL = re.compile(r'[^\s,\[\]{}"]*')
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


JSON_SUFFIXES = (".json", *JSON_LINES_SUFFIXES)


def json_files(paths: list[Path]) -> list[Path]:
    """The files to read: files as given, and each folder's JSON and JSON Lines files by name. A path that is
    neither raises ``FileNotFoundError`` naming it, so a command stops before anything is stored."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(JSON_SUFFIXES)))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} is not a file or folder")
    return found


def scan(text: str, start: int, *, complete: bool = False) -> tuple[int | None, int]:
    """Where the JSON value at ``text[start]`` ends (``None``: not within ``text``) and how deep it nests.

    Only brackets and strings are looked at (no parsing, no recursion), so a value nested 10 000 levels
    deep costs no more than its length. A value that is not an object or a list ends at its string or
    literal's end; a literal that reaches the end of ``text`` ends there only when ``complete`` (no more
    text follows).
    """
    if start >= len(text):
        return None, 0
    first = text[start]
    if first == '"':
        match = _STRING.match(text, start)
        return (match.end() if match else None), 0
    if first not in "[{":
        end = _LITERAL.match(text, start).end()  # type: ignore[union-attr]  # it matches the empty text
        return (end if end < len(text) or complete else None), 0
    depth = deepest = 0
    position = start
    while True:
        found = _STRUCTURE.search(text, position)
        if found is None:
            return None, deepest
        char = found.group()
        if char == '"':
            string = _STRING.match(text, found.start())
            if string is None:
                return None, deepest
            position = string.end()
            continue
        position = found.end()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
            if depth == 0:
                return position, deepest


_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def nesting(text: str) -> int:
    """How deep the objects and lists of a JSON text nest, counted without parsing (all at C speed)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(itertools.accumulate(map(_DELTA.__getitem__, brackets)), default=0)


class _Parser:
    """``json`` with bounded numbers; the problems of the record being parsed are collected, not raised."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.problems: list[str] = []
        self.decoder = json.JSONDecoder(
            parse_float=self._float, parse_int=self._int, parse_constant=self._constant, strict=True
        )

    def _too_long(self, literal: str) -> bool:
        if len(literal) <= self.limits.max_number_length:
            return False
        self.problems.append(
            _("a number has %(n)s characters, more than the %(limit)s allowed")
            % {"n": len(literal), "limit": self.limits.max_number_length}
        )
        return True

    def _int(self, literal: str) -> int:
        return 0 if self._too_long(literal) else int(literal)

    def _float(self, literal: str) -> float:
        if self._too_long(literal):
            return 0.0
        value = float(literal)
        if not math.isfinite(value):
            self.problems.append(_("the number %(number)s is too large to be stored") % {"number": literal})
            return 0.0
        return value

    def _constant(self, literal: str) -> None:
        self.problems.append(_("%(value)s is not a number JSON allows") % {"value": literal})

    def parse(self, text: str, line: int) -> Any:
        """The value of one record's ``text`` (which starts on ``line`` of the file); raises ``RecordError``."""
        self._before(text)
        self.problems = []
        try:
            value = self.decoder.decode(text)
        except json.JSONDecodeError as exc:
            raise RecordError(
                _("the record is not valid JSON: %(reason)s (line %(line)s, column %(column)s)")
                % {"reason": exc.msg, "line": line + exc.lineno - 1, "column": exc.colno}
            ) from None
        except RecursionError:  # not reached while max_depth stays well below the interpreter's limit
            raise RecordError(_("the record is nested too deeply to be read")) from None
        self._after(text, value)
        return value

    def accept(self, text: str, value: Any) -> Any:
        """``value``, already decoded from ``text`` with this parser's hooks, once it passes the checks."""
        self._before(text)
        self._after(text, value)
        return value

    def _before(self, text: str) -> None:
        if len(text) > self.limits.max_record_chars:
            raise RecordError(
                _("the record has %(n)s characters, more than the %(limit)s allowed")
                % {"n": len(text), "limit": self.limits.max_record_chars}
            )
        if _SURROGATE.search(text):
            raise RecordError(_("the record is not valid UTF-8 text (it holds bytes that are not characters)"))
        depth = nesting(text)
        if depth > self.limits.max_depth:
            raise RecordError(
                _("the record is nested %(depth)s levels deep, more than the %(limit)s allowed")
                % {"depth": depth, "limit": self.limits.max_depth}
            )

    def _after(self, text: str, value: Any) -> None:
        if self.problems:
            raise RecordError("; ".join(dict.fromkeys(self.problems)))
        if _ESCAPED_NUL.search(text):
            raise RecordError(_("the record holds the NUL character (\\u0000), which cannot be stored"))
        if _ESCAPED_SURROGATE.search(text):
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise RecordError(
                    _("the record holds a \\u escape that is half of a character pair, which cannot be stored")
                ) from None


def parse_record(text: str, *, limits: Limits = LIMITS, line: int = 1) -> Any:
    """One JSON record from ``text``, within ``limits``; raises ``RecordError`` with a plain reason."""
    return _Parser(limits).parse(text, line)


# --- a file of records --------------------------------------------------------------------------


class _Buffer:
    """The text of a stream, read in chunks; knows the line number of any position still held."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self.eof = False
        self.line = 1  # line number at ``counted``
        self.counted = 0

    def fill(self, at_least: int = CHUNK) -> bool:
        """Reads more text; False at the end of the stream."""
        if self.eof:
            return False
        chunk = self.stream.read(max(at_least, CHUNK))
        if not chunk:
            self.eof = True
            return False
        self.text += chunk
        return True

    def line_at(self, position: int) -> int:
        if position >= self.counted:
            self.line += self.text.count("\n", self.counted, position)
        else:
            self.line -= self.text.count("\n", position, self.counted)
        self.counted = position
        return self.line

    def drop(self, position: int) -> int:
        """Forgets the text before ``position`` once it is long (already read); returns where
        ``position`` is now."""
        if position < CHUNK:
            return position
        self.line_at(position)
        self.text = self.text[position:]
        self.counted = 0
        return 0

    def skip_space(self, position: int) -> int:
        """The first position at or after ``position`` that is not white space (len(text) at the end)."""
        while True:
            while position < len(self.text) and self.text[position] in " \t\r\n":
                position += 1
            if position < len(self.text) or not self.fill():
                return position


def _text_stream(source: Path | IO[str] | IO[bytes]) -> tuple[IO[str], bool]:
    """A text stream of ``source`` (invalid UTF-8 kept as lone surrogates, to be reported) and whether
    it is to be closed here."""
    if isinstance(source, Path):
        return io.TextIOWrapper(source.open("rb"), encoding="utf-8-sig", errors="surrogateescape", newline=""), True
    if isinstance(source, io.TextIOBase) or isinstance(source.read(0), str):
        return source, False  # type: ignore[return-value]
    binary: Any = source
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline=""), False


def read_records(
    source: Path | IO[str] | IO[bytes],
    *,
    container_key: str | None = None,
    json_lines: bool | None = None,
    limits: Limits = LIMITS,
) -> Iterator[Record]:
    """The records of a JSON array, JSON Lines or one JSON object, one at a time (see the module docstring).

    ``json_lines`` None: decided from the file's name (``.jsonl``, ``.ndjson``) and content.
    """
    stream, owned = _text_stream(source)
    try:
        if json_lines is None and isinstance(source, Path):
            json_lines = source.name.lower().endswith(JSON_LINES_SUFFIXES) or None
        buffer = _Buffer(stream)
        parser = _Parser(limits)
        start = buffer.skip_space(0)
        if start >= len(buffer.text):
            return
        if json_lines or (json_lines is None and _looks_like_lines(buffer, start)):
            yield from _lines(buffer, parser, limits)
        elif buffer.text[start] == "[":
            yield from _array(buffer, parser, limits, start + 1, 0)
        else:
            yield from _document(buffer, parser, limits, start, container_key)
    finally:
        if owned:
            stream.close()


def _looks_like_lines(buffer: _Buffer, start: int) -> bool:
    """JSON Lines when the first line holds a whole value and more text follows on later lines, or when
    the first line is broken and the next one starts a record too; a document otherwise."""
    first = buffer.text[start]
    if first == "[":
        return False
    while "\n" not in buffer.text[start:] and buffer.fill():
        pass
    newline = buffer.text.find("\n", start)
    if newline < 0:
        return False
    line = buffer.text[start:newline].rstrip()
    end, _depth = scan(line, 0, complete=True)
    rest = buffer.skip_space(newline)
    if rest >= len(buffer.text):
        return False
    if end is not None and end == len(line):
        return True
    return first != "{" or buffer.text[rest] in "{["


def _lines(buffer: _Buffer, parser: _Parser, limits: Limits) -> Iterator[Record]:
    number = 0
    position = 0
    while True:
        newline = buffer.text.find("\n", position)
        while newline < 0 and buffer.fill():
            newline = buffer.text.find("\n", position)
        end = newline if newline >= 0 else len(buffer.text)
        number += 1
        text = buffer.text[position:end].strip()
        if text:
            try:
                yield Record(number, number, parser.parse(text, number), json_lines=True)
            except RecordError as exc:
                yield Record(number, number, error=str(exc), json_lines=True)
        if newline < 0:
            return
        position = buffer.drop(newline + 1)


def _array(buffer: _Buffer, parser: _Parser, limits: Limits, position: int, count: int) -> Iterator[Record]:
    """The items of a list whose ``[`` ends just before ``position``; numbered from ``count + 1``."""
    while True:
        position = buffer.skip_space(position)
        if position >= len(buffer.text):
            yield _break(buffer, position, count, _("the file ends before the list of records is closed with ']'"))
            return
        char = buffer.text[position]
        if char == "]":
            after = buffer.skip_space(position + 1)
            if after < len(buffer.text):
                yield _break(buffer, after, count, _("there is more text after the list of records"))
            return
        if count:
            if char != ",":
                yield _break(buffer, position, count, _("a ',' or ']' is missing"))
                return
            position = buffer.skip_space(position + 1)
            if position >= len(buffer.text) or buffer.text[position] == "]":
                yield _break(buffer, position, count, _("a record is missing after the last ','"))
                return
        position = buffer.drop(position)
        try:  # the quick way: json finds where a well-formed record ends
            parser.problems = []
            value, quick_end = parser.decoder.raw_decode(buffer.text, position)
        except (json.JSONDecodeError, RecursionError):
            pass
        else:
            if quick_end < len(buffer.text) or buffer.eof:  # (a number at the end of the text may go on)
                count += 1
                line = buffer.line_at(position)
                try:
                    yield Record(count, line, parser.accept(buffer.text[position:quick_end], value))
                except RecordError as exc:
                    yield Record(count, line, error=str(exc))
                position = quick_end
                continue
        end, _depth = scan(buffer.text, position, complete=buffer.eof)
        while end is None and len(buffer.text) - position <= limits.max_record_chars and not buffer.eof:
            buffer.fill(len(buffer.text))
            end, _depth = scan(buffer.text, position, complete=buffer.eof)
        if end == position:  # not a value at all: a stray ',' or ':'
            yield _break(buffer, position, count, _("a record is missing here"))
            return
        count += 1
        line = buffer.line_at(position)
        if end is None:
            if len(buffer.text) - position > limits.max_record_chars:
                reason = _("the record is longer than %(limit)s characters") % {"limit": limits.max_record_chars}
            else:
                reason = _("the file ends in the middle of this record")
            yield Record(
                count, line, error=_("%(reason)s; the rest of the file was not read") % {"reason": reason}, fatal=True
            )
            return
        try:
            yield Record(count, line, parser.parse(buffer.text[position:end], line))
        except RecordError as exc:
            yield Record(count, line, error=str(exc))
        position = end


def _break(buffer: _Buffer, position: int, count: int, reason: str) -> Record:
    line = buffer.line_at(min(position, len(buffer.text)))
    where = _("after record %(n)s") % {"n": count} if count else _("before the first record")
    return Record(
        count + 1,
        line,
        error=_("%(reason)s (%(where)s, line %(line)s); the records before it were read, the rest was not")
        % {"reason": reason, "where": where, "line": line},
        fatal=True,
    )


def _document(
    buffer: _Buffer, parser: _Parser, limits: Limits, start: int, container_key: str | None
) -> Iterator[Record]:
    """One JSON value: an object whose ``container_key`` is a list gives that list's items, any other the
    value itself as record 1."""
    while len(buffer.text) <= limits.max_record_chars * 4 and buffer.fill():
        pass
    end, _depth = scan(buffer.text, start, complete=buffer.eof)
    line = buffer.line_at(start)
    if end is None:
        reason = (
            _("the file is too large to be read as one JSON object; write it as a JSON array or JSON Lines")
            if not buffer.eof
            else _("the file ends before its JSON value is complete; the file could not be read")
        )
        yield Record(1, line, error=reason, fatal=True)
        return
    outer = Limits(limits.max_depth + 2, limits.max_number_length, limits.max_record_chars * 4)
    try:
        value = _Parser(outer).parse(buffer.text[start:end], line)
    except RecordError as exc:
        yield Record(1, line, error=str(exc), fatal=True)
        return
    items = value.get(container_key) if isinstance(value, dict) and container_key else None
    if isinstance(items, list):
        for number, item in enumerate(items, start=1):
            yield Record(number, line, item)
    else:
        yield Record(1, line, value)
    rest = buffer.skip_space(end)
    if rest < len(buffer.text):
        yield Record(2, buffer.line_at(rest), error=_("there is more text after the JSON value"), fatal=True)
