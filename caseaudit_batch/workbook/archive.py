"""The archive safety layer every returned form passes before any reader touches it (field notes, "Hostile
workbooks"): hard limits on the zip's members, sizes and compression ratio, parts unpacked with byte limits, and no
entity declaration in any XML part. :mod:`caseaudit_batch.workbook.reader` re-exports what it names here.

Every refusal is a :class:`Refused` carrying a catalogue code (``IN0xx``), so the caller can record one outcome.
"""

from __future__ import annotations

import io
import re
import struct
import xml.etree.ElementTree as FastET
import zipfile
import zlib
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

# Limits (a generated audit form is ~25 KB, ~20 zip members, ~300 cells; these leave room for honest edits)
MAX_FILE_BYTES = 10 * 1024 * 1024  # the file on disk
MAX_MEMBERS = 300  # zip members
MAX_MEMBER_BYTES = 20 * 1024 * 1024  # one member's declared uncompressed size
MAX_TOTAL_BYTES = 60 * 1024 * 1024  # all members' declared uncompressed sizes together
MAX_RATIO = 150  # uncompressed / compressed, checked for members over RATIO_FLOOR bytes
RATIO_FLOOR = 1024 * 1024
MAX_CELLS = 50_000  # cells written in the sheets that are read
MAX_ROWS = 5_000  # the furthest row actually used (never the sheet's declared <dimension>)
MAX_COLS = 100  # the furthest column actually used


class Refused(Exception):
    """A file that is not a readable, safe form: ``code`` is its catalogue code, ``params`` fill the message;
    ``outcome`` is the file's outcome (``rejected``, or ``ignored`` for a file that went or changed mid-run)."""

    outcome = "rejected"

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def size_text(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


class SafeArchive:
    """An xlsx archive whose members have passed the size, ratio and count checks; reads parts with limits."""

    def __init__(self, data: bytes) -> None:
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
            raise Refused("IN005") from None
        if len(infos) > MAX_MEMBERS:
            raise Refused("IN010", found=f"{len(infos)} parts", limit=f"{MAX_MEMBERS} parts")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise Refused("IN003")  # an encrypted zip member: treat like a password
            total += info.file_size
            if info.file_size > MAX_MEMBER_BYTES:
                raise Refused(
                    "IN010", found=size_text(info.file_size) + " in one part", limit=size_text(MAX_MEMBER_BYTES)
                )
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(1, info.compress_size):
                ratio = info.file_size // max(1, info.compress_size)
                raise Refused("IN010", found=f"compressed {ratio} to 1", limit=f"{MAX_RATIO} to 1")
        if total > MAX_TOTAL_BYTES:
            raise Refused("IN010", found=size_text(total), limit=size_text(MAX_TOTAL_BYTES))
        self.names = {info.filename for info in infos}
        self.infos = {info.filename: info for info in infos}
        self.data = data
        self._cache: dict[str, bytes] = {}

    def read(self, name: str) -> bytes:
        """One member, never more than its (already capped) declared size; zipfile raises on a forged size."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        quick = self._inflate(self.infos[name]) if name in self.infos else None
        if quick is not None:
            self._cache[name] = quick
            return quick
        try:
            with self.zf.open(name) as handle:
                data = handle.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise Refused("IN015", found=f"the part {name} cannot be unpacked ({type(exc).__name__})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise Refused("IN010", found=size_text(len(data)) + " in one part", limit=size_text(MAX_MEMBER_BYTES))
        self._cache[name] = data
        return data

    def _inflate(self, info: zipfile.ZipInfo) -> bytes | None:
        """A whole member inflated straight from the archive (cheaper than zipfile's reader); ``None``, for that
        reader to decide, unless it comes out exactly its declared (capped) size and CRC."""
        start = self._data_start(info)
        if start is None:
            return None
        raw = self.data[start : start + info.compress_size]
        if info.compress_type == zipfile.ZIP_STORED:
            data = raw
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            inflater = zlib.decompressobj(-15)
            try:
                data = inflater.decompress(raw, info.file_size + 1)
            except zlib.error:
                return None
            if not inflater.eof:
                return None
        else:
            return None
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            return None
        return data

    def _data_start(self, info: zipfile.ZipInfo) -> int | None:
        """Where a member's compressed bytes start (after its local header); ``None`` if there is no header."""
        header = self.data[info.header_offset : info.header_offset + 30]
        if len(header) < 30 or header[:4] != b"PK\x03\x04":
            return None
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        return info.header_offset + 30 + name_length + extra_length

    def refuse_entities(self, read_whole: frozenset[str] | set[str] = frozenset()) -> None:
        """Look for a document type declaration (where entities are declared) in every XML part, whichever parser
        would read it later. A DOCTYPE can only stand in the prolog, before the root element, so only the prolog
        is read: comments and processing instructions are skipped properly, however long. Parts in ``read_whole``
        (the ones caseaudit reads itself) are unpacked whole once and kept."""
        for name in sorted(self.names):
            if name.lower().endswith((".xml", ".rels", ".vml")):
                self._check_prolog(name, name in read_whole)

    def _check_prolog(self, name: str, whole: bool) -> None:
        if whole and self.infos[name].file_size <= SMALL_PART:
            self.read(name)
        cached = self._cache.get(name)
        if cached is not None:
            _refuse_dtd_in_prolog(cached, complete=True)
            return
        head = self._peek(self.infos[name])
        if head is not None and _refuse_dtd_in_prolog(head, complete=len(head) < PROLOG_PEEK):
            return
        try:
            with self.zf.open(name) as handle:
                head = handle.read(PROLOG_PEEK)
                while not _refuse_dtd_in_prolog(head, complete=len(head) < PROLOG_PEEK):
                    more = handle.read(PROLOG_PEEK)
                    if not more:
                        _refuse_dtd_in_prolog(head, complete=True)
                        break
                    head += more
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            raise Refused("IN015", found=f"the part {name} cannot be unpacked ({type(exc).__name__})") from None

    def _peek(self, info: zipfile.ZipInfo) -> bytes | None:
        """A member's first bytes, inflated as :meth:`_inflate` does; ``None`` when the full reader must tell."""
        start = self._data_start(info)
        if start is None:
            return None
        raw = self.data[start : start + min(info.compress_size, PROLOG_PEEK * 4)]
        if info.compress_type == zipfile.ZIP_STORED:
            head = raw[:PROLOG_PEEK]
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            try:
                head = zlib.decompressobj(-15).decompress(raw, PROLOG_PEEK)
            except zlib.error:
                return None
        else:
            return None
        if len(head) < PROLOG_PEEK and len(head) != info.file_size:  # short: trusted only as the whole member
            return None
        return head

    def xml(self, name: str, *, screened: bool = False) -> Any:
        """Parse one XML part; entity declarations (billion laughs, XXE) are refused.

        By default with defusedxml. ``screened=True`` is for parts whose prolog has just been checked to hold no
        document type declaration, so no entity can be declared in them: those go through the standard library's
        C parser, which is several times faster on ``workbook.xml`` with its many defined names.
        """
        data = self.read(name)
        refuse_dtd(data)
        try:
            if screened:
                return FastET.fromstring(data)
            return SafeET.fromstring(data)
        except DefusedXmlException:
            raise Refused("IN014") from None
        except (SafeET.ParseError, FastET.ParseError):
            raise Refused("IN015", found=f"the part {name} is not well-formed XML") from None


PROLOG_PEEK = 2048
SMALL_PART = 256 * 1024  # parts caseaudit reads itself, up to this size, are unpacked whole (and cached)
_PROLOG_SKIP = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


def _refuse_dtd_in_prolog(data: bytes, *, complete: bool) -> bool:
    """Refuse a DOCTYPE in the prolog of ``data``. True when the prolog has been seen to its end (the root element
    starts, or the data is complete); False when more bytes are needed to decide."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.decode("utf-16", errors="ignore").encode("utf-8", errors="ignore")
    elif data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    position = 0
    while True:
        match = _PROLOG_SKIP.match(data, position)
        if match is None or match.end() == position:
            break
        position = match.end()
    rest = data[position:]
    if rest[:2] == b"<!":
        if rest[:9].upper() == b"<!DOCTYPE" or rest.startswith(b"<!ENTITY"):
            raise Refused("IN014")
        if not complete and (rest.startswith(b"<!--") or len(rest) < 9):
            return False  # a comment not yet closed
        raise Refused("IN015", found="a part has a malformed XML prolog")
    if rest[:2] == b"<?" or (not rest and not complete):
        return complete  # a processing instruction not yet closed
    return True


def refuse_dtd(data: bytes) -> None:
    _refuse_dtd_in_prolog(data, complete=True)
