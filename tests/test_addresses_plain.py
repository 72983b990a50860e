"""The everyday mailbox is read by one regular expression (issue 25): the same parts as the standard library's
header parser gives, for every mailbox that expression accepts, and anything else still goes to that parser."""

from __future__ import annotations

import random

import pytest

from caseaudit_batch.core import addresses
from caseaudit_batch.core.addresses import AddressError, parse_mailbox

WORD = "abcXYZ019'-"
LOCAL = "abcXYZ019_+-"
LABEL = "abcXYZ019-"


def _run(rng: random.Random, alphabet: str, longest: int = 8) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, longest)))


def _mailbox(rng: random.Random) -> str:
    user = ".".join(_run(rng, LOCAL) for _ in range(rng.randint(1, 3)))
    domain = ".".join(_run(rng, LABEL) for _ in range(rng.randint(2, 4)))
    if rng.random() < 0.2:
        return f"{user}@{domain}"
    name = " ".join(_run(rng, WORD) for _ in range(rng.randint(1, 4)))
    return f"{name} <{user}@{domain}>"


def _parts(address: addresses.Address) -> tuple[str, str, str, str]:
    return (address.display_name, address.username, address.domain, str(address))


def test_a_plain_mailbox_reads_as_the_standard_parser_reads_it() -> None:
    rng = random.Random(25)
    checked = 0
    for _ in range(3000):
        text = _mailbox(rng)
        assert addresses._PLAIN_MAILBOX.fullmatch(text), text
        try:
            slow = addresses._parse_mailbox(text)
        except AddressError:
            pytest.fail(f"the expression takes a mailbox the standard parser refuses: {text!r}")
        assert _parts(parse_mailbox.__wrapped__(text)) == _parts(slow), text
        checked += 1
    assert checked == 3000


def test_a_plain_address_reads_as_the_standard_parser_reads_it() -> None:
    """The roster's Email cells (AL010) take the same short path: the same parts, for every address it accepts."""
    rng = random.Random(2025)
    for _ in range(3000):
        text = _mailbox(rng).rpartition("<")[2].rstrip(">")
        assert addresses._PLAIN_ADDRESS.fullmatch(text), text
        assert _parts(addresses.parse_address.__wrapped__(f" {text} ")) == _parts(addresses._parse_address(text))


@pytest.mark.parametrize(
    "text",
    [
        "sam..worker@x.gov.uk",
        ".sam@x.gov.uk",
        "sam@x",
        "Sam <sam@x.gov.uk>",
        "sam@x.gov.uk, b@y.org",
        "sam@@x.org",
        '"sam worker"@x.gov.uk',
        "sam@[127.0.0.1]",
        "ß@x.gov.uk",
        "sam@x.gov.uk\r\nBcc: b@y.org",
    ],
)
def test_an_address_off_the_short_path_is_judged_by_the_standard_parser(text: str) -> None:
    assert not addresses._PLAIN_ADDRESS.fullmatch(text.strip())
    try:
        expected: object = _parts(addresses._parse_address(text))
    except AddressError:
        expected = AddressError
    try:
        got: object = _parts(addresses.parse_address.__wrapped__(text))
    except AddressError:
        got = AddressError
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "Sam Worker <sam.worker@testshire.gov.uk>",
        "sam.worker@testshire.gov.uk",
        "Siobhán Ní Bhriain <siobhan@testshire.gov.uk>",  # not ASCII: the standard parser
        '"Worker, Sam" <sam@testshire.gov.uk>',  # quoted: the standard parser
        "Sam  Worker <sam@testshire.gov.uk>",  # two spaces: the standard parser
        "QA Team (Quality) <qa@testshire.gov.uk>",  # a comment: the standard parser
    ],
)
def test_every_mailbox_is_read_as_before(text: str) -> None:
    assert _parts(parse_mailbox.__wrapped__(text)) == _parts(addresses._parse_mailbox(text))


@pytest.mark.parametrize(
    "text",
    [
        "a@x.org\r\nBcc: b@y.org",
        "Sam <a@x.org>, Pat <b@y.org>",
        "Sam <a@x.org",
        "a..b@x.org",
        ".a@x.org",
        "<a@x.org> Sam",
        "",
    ],
)
def test_what_is_not_one_mailbox_is_still_refused(text: str) -> None:
    assert not addresses._PLAIN_MAILBOX.fullmatch(text)
    with pytest.raises(AddressError):
        parse_mailbox.__wrapped__(text)
