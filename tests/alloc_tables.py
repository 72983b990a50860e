# ruff: noqa: E501 - the tables are easier to read as wide rows
"""A small authority written as readable tables, shared by the roster, allocation and reminder tests.

Two services (North, South), four teams (N1, N2 in North; S1, S2 in South). Dates are typed the English way.
"""

from __future__ import annotations

from pathlib import Path

from caseaudit_batch.allocation.roster import CASELOAD_HEADERS, ROSTER_HEADERS, write_table

ROSTER = """
Staff ID | Name             | Email                  | Role                          | Team | Service | Line manager ID | Audit status | Paused until | Pause reason
D1       | Dana Director    | dana@council.example   | Strategic Director            |      |         |                 | Active       |              |
A1       | Ash Assistant    | ash@council.example    | Assistant Director            |      |         | D1              | Active       |              |
H1       | Hana North       | hana@council.example   | Head of Service               |      | North   | A1              | Active       |              |
H2       | Hugo South       | hugo@council.example   | Head of Service               |      | South   | A1              | Active       |              |
M1       | Mia North        | mia@council.example    | Service Manager               |      | North   | H1              | Active       |              |
M2       | Max South        | max@council.example    | Service Manager               |      | South   | H2              | Active       |              |
T1       | Tara Teamone     | tara@council.example   | Team Manager                  | N1   | North   | M1              | Active       |              |
T2       | Theo Teamtwo     | theo@council.example   | Team Manager                  | N2   | North   | M1              | Active       |              |
T3       | Tess Teamthree   | tess@council.example   | Team Manager                  | S1   | South   | M2              | Active       |              |
T4       | Tom Teamfour     | tom@council.example    | Team Manager                  | S2   | South   | M2              | Active       |              |
P1       | Pat Supervisor   | pat@council.example    | Practice Supervisor           | N1   | North   | T1              | Active       |              |
P2       | Pip Onleave      | pip@council.example    | Practice Supervisor           | S1   | South   | T3              | Paused       | 15/10/2026   | Parental leave
P3       | Poppy Backagain  | poppy@council.example  | Practice Supervisor           | S2   | South   | T4              | Paused       | 20/08/2026   | Annual leave
R1       | Remy Principal   | remy@council.example   | Principal Social Worker       |      | QA      | A1              | Active       |              |
W1       | Wes Workerone    | wes@council.example    | Social Worker                 | N1   | North   | T1              | Active       |              |
W2       | Wyn Workertwo    | wyn@council.example    | Social Worker                 | N2   | North   | T2              | Active       |              |
W3       | Will Workerthree | will@council.example   | Social Worker                 | S1   | South   | T3              | Active       |              |
W4       | Win Workerfour   | win@council.example    | Social Worker                 | S2   | South   | T4              | Active       |              |
W5       | Wendy Gone       |                        | Social Worker                 | N1   | North   | T1              | Left         |              |
C1       | Cleo Coordinator | cleo@council.example   | Child Protection Coordinator  |      | QA      | H1              | Active       |              |
I1       | Ira Reviewer     | ira@council.example    | Independent Reviewing Officer |      | QA      | H1              | Active       |              |
Q1       | Quinn Quality    | quinn@council.example  | QA Officer                    |      | QA      | H1              | Active       |              |
"""

CASELOAD = """
Case reference | Case type | Service | Team | Social worker ID | Team manager ID | Allocated to current worker on | Previous social worker ID | CP coordinator / IRO ID | Case opened on
N1-01          | CIN       | North   | N1   | W1               | T1              | 01/02/2026                     |                           |                         | 01/01/2026
N1-02          | CP        | North   | N1   | W1               | T1              | 20/08/2026                     | W2                        | C1                      | 01/01/2025
N1-03          | CLA       | North   | N1   | W1               | T1              | 01/03/2026                     | W5                        | I1                      | 01/01/2024
N1-04          | CIN       | North   | N1   | W1               | T1              | 01/03/2026                     |                           |                         | 01/01/2026
N2-01          | CIN       | North   | N2   | W2               | T2              | 01/02/2026                     |                           |                         | 01/01/2026
N2-02          | CP        | North   | N2   | W2               | T2              | 01/02/2026                     |                           | C1                      | 01/01/2026
N2-03          | CIN       | North   | N2   | W2               | T2              | 01/02/2026                     |                           |                         | 01/01/2026
N2-04          | CIN       | North   | N2   | W2               | T2              | 01/02/2026                     |                           |                         | 01/01/2026
S1-01          | CLA       | South   | S1   | W3               | T3              | 01/02/2026                     |                           | I1                      | 01/01/2026
S1-02          | CIN       | South   | S1   | W3               | T3              | 01/02/2026                     |                           |                         | 01/01/2026
S1-03          | CIN       | South   | S1   | W3               | T3              | 01/02/2026                     |                           |                         | 01/01/2026
S1-04          | CIN       | South   | S1   | W3               | T3              | 01/02/2026                     |                           |                         | 01/01/2026
S2-01          | CIN       | South   | S2   | W4               | T4              | 01/02/2026                     |                           |                         | 01/01/2026
S2-02          | CIN       | South   | S2   | W4               | T4              | 01/02/2026                     |                           |                         | 01/01/2026
S2-03          | CIN       | South   | S2   | W4               | T4              | 01/02/2026                     |                           |                         | 01/01/2026
S2-04          | CIN       | South   | S2   | W4               | T4              | 01/02/2026                     |                           |                         | 01/01/2026
S2-05          | CIN       | South   | S2   |                  | T4              |                                |                           |                         | 01/08/2026
"""

# Who audits in the small authority on 1 September 2026 (P2 is paused until 15 October; P3 came back in August).
ACTIVE_AUDITORS = {"D1", "A1", "H1", "H2", "M1", "M2", "T1", "T2", "T3", "T4", "P1", "P3", "R1"}

TIGHT_ROSTER = """
Staff ID | Name           | Email              | Role                    | Team | Service | Line manager ID | Audit status | Paused until | Pause reason
X1       | Xena Teamlead  | xena@c.example     | Team Manager            | A    | East    |                 | Active       |              |
TB       | Toby Away      | toby@c.example     | Team Manager            | B    | East    |                 | Paused       | 01/01/2027   | Long-term sickness
TC       | Tina Away      | tina@c.example     | Team Manager            | C    | East    |                 | Paused       | 01/01/2027   | Secondment
Y1       | Yuri Principal | yuri@c.example     | Principal Social Worker |      | QA      |                 | Active       |              |
WA       | Wil A          | wa@c.example       | Social Worker           | A    | East    | X1              | Active       |              |
WB       | Wil B          | wb@c.example       | Social Worker           | B    | East    | TB              | Active       |              |
WC       | Wil C          | wc@c.example       | Social Worker           | C    | East    | TC              | Active       |              |
"""
# Yuri reviews a1 and c1, so can only audit b1; Xena cannot audit her own team's a1: the only way both get a case
# is Xena c1, Yuri b1, whatever the draw.
TIGHT_CASELOAD = """
Case reference | Case type | Service | Team | Social worker ID | Team manager ID | Allocated to current worker on | Previous social worker ID | CP coordinator / IRO ID | Case opened on
a1             | CLA       | East    | A    | WA               | X1              |                                |                           | Y1                      |
b1             | CIN       | East    | B    | WB               | TB              |                                |                           |                         |
c1             | CLA       | East    | C    | WC               | TC              |                                |                           | Y1                      |
"""


def rows(text: str) -> list[list[str]]:
    """A table typed with ``|`` between cells: the header row first."""
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


def write(path: Path, text: str, *, title: str = "") -> Path:
    """Write a typed table as .xlsx or .csv (by suffix); the title picks the sheet name."""
    table = rows(text)
    headers = table[0]
    if not title:
        title = (
            "Roster"
            if tuple(headers) == ROSTER_HEADERS
            else "Caseload"
            if tuple(headers) == CASELOAD_HEADERS
            else "Sheet"
        )
    return write_table(path, title, headers, table[1:])


def edit(text: str, match: str, column: str, value: str) -> str:
    """The table with one cell changed: in the row whose first cell is ``match``, set ``column`` to ``value``."""
    table = rows(text)
    index = table[0].index(column)
    for row in table[1:]:
        if row[0] == match:
            row[index] = value
    return "\n".join(" | ".join(r) for r in table)


def drop(text: str, *matches: str) -> str:
    table = rows(text)
    return "\n".join(" | ".join(r) for r in table if r[0] not in matches)


def add(text: str, line: str) -> str:
    return text.strip() + "\n" + line
