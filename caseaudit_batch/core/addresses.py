"""E-mail addresses, parsed: every mail header caseaudit writes is built from these, never from raw text.

A roster value such as ``a@x.org\\r\\nBcc: b@y.org`` is refused where it is read (the roster check, AL010; the
configuration, CFG003), and the one MIME builder (``notify.build_eml``) accepts only what parses here.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from email.errors import MessageError
from email.headerregistry import Address, HeaderRegistry

_HEADERS = HeaderRegistry()


class AddressError(ValueError):
    """Not exactly one e-mail address."""


#: The everyday address and mailbox, ``first.last@council.gov.uk`` and ``First Last <first.last@council.gov.uk>``:
#: a dot-atom address; a name of words of letters, digits, apostrophes and hyphens separated by single spaces. Each
#: of these characters is an RFC 5322 atom character, so the standard library's parser reads such a mailbox into
#: exactly these parts (held by tests/test_addresses_plain.py over generated ones). That parser costs a third of a
#: millisecond a mailbox, and every notice names several.
_ADDRESS = r"(?P<user>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
_PLAIN_ADDRESS = re.compile(_ADDRESS)
_PLAIN_MAILBOX = re.compile(r"(?:(?P<name>[A-Za-z0-9'-]+(?: [A-Za-z0-9'-]+)*) <)?" + _ADDRESS + r"(?(name)>)")


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> Address:
    """Exactly one plain e-mail address (``name@authority.gov.uk``): no display name, no list, no line break.

    Mail headers are built only from what this returns, so a roster value such as ``a@x.org\\r\\nBcc: b@y.org`` can
    never become a header of its own (the roster check refuses it first, AL010).
    """
    if not isinstance(text, str) or any(ch in text for ch in "\r\n\x00") or not text.strip():
        raise AddressError(text)
    plain = _PLAIN_ADDRESS.fullmatch(text.strip())
    if plain:  # the everyday address, as the standard parser reads it (a roster of 2,400 cost 0.3 s without)
        return Address("", plain["user"], plain["domain"])
    return _parse_address(text)


def _parse_address(text: str) -> Address:
    """:func:`parse_address` by the standard library's parser (any address, the plain ones too)."""
    try:
        address = Address(addr_spec=text.strip())
    except (ValueError, IndexError, AttributeError, MessageError):  # the stdlib parser trips on some text (".:")
        raise AddressError(text) from None
    if not address.username or not address.domain or address.addr_spec != text.strip():
        raise AddressError(text)
    return address


@functools.lru_cache(maxsize=4096)
def parse_mailbox(text: str) -> Address:
    """One mailbox for a header: one address, with a display name allowed (``QA Team <qa@x.org>``); for the
    configured sender, and for every recipient when a notice is built (the roster itself holds plain addresses)."""
    if not isinstance(text, str) or any(ch in text for ch in "\r\n\x00") or not text.strip():
        raise AddressError(text)
    plain = _PLAIN_MAILBOX.fullmatch(text.strip())
    if plain:
        return Address(plain["name"] or "", plain["user"], plain["domain"])
    return _parse_mailbox(text)


def _parse_mailbox(text: str) -> Address:
    """:func:`parse_mailbox` by the standard library's header parser (any mailbox, the plain ones too)."""
    try:
        parsed = _HEADERS("From", text.strip())
    except (ValueError, IndexError, AttributeError, MessageError):  # the stdlib parser trips on some text (".:")
        raise AddressError(text) from None
    found: tuple[Address, ...] = getattr(parsed, "addresses", ())  # an address header's parsed addresses
    if parsed.defects or len(found) != 1:
        raise AddressError(text)
    address = found[0]
    parse_address(address.addr_spec)  # the address itself obeys the same rule as the roster's
    return address


def is_one_address(text: str) -> bool:
    """Whether ``text`` is exactly one plain e-mail address (what a roster's Email cell must hold)."""
    try:
        parse_address(text)
    except AddressError:
        return False
    return True


#: Characters that reorder how text is shown (bidirectional overrides and isolates): a name that holds one can make
#: a file name or a report line read differently from what it is.
#: Control characters, lone surrogates, and line and paragraph separators (spaces, non-breaking ones too, are fine).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def is_plain_text(text: str) -> bool:
    """Whether ``text`` is one line of ordinary characters: no line break, tab, other control character or
    bidirectional override (what a name, ID, team or case reference may hold)."""
    if text.isascii() and text.isprintable():  # the common case, answered in C: no ASCII control is printable
        return True
    return not any(unicodedata.category(ch) in _REFUSED_CATEGORIES or ch in _BIDI_CONTROLS for ch in text)


def shown_text(text: str) -> str:
    """``text`` with line breaks and other control characters shown as escapes (``\\r``, ``\\x07``), so a
    message that quotes it stays on one line and shows what is really there."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
