"""A synthetic authority for the demo and for tests: invented people, case references only, reproducible.

Every name is obviously invented (first names paired with made-up surnames), every address is on the reserved
``.example`` domain, and cases carry references, never children's names. ``make_authority(auditors=20)`` gives a
small authority for tests; the default is the demo's size (about 6 services, 30 teams, 150 auditors, 3,000 cases).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from caseaudit_batch.allocation.roster import Case, Person, write_caseload, write_roster

FIRST_NAMES = (
    "Alex", "Bailey", "Casey", "Dana", "Eden", "Frankie", "Gale", "Harper", "Indy", "Jordan", "Kit", "Lane", "Morgan",
    "Noel", "Oakley", "Parker", "Quinn", "Robin", "Sam", "Taylor", "Umber", "Vale", "Wren", "Yael", "Zion", "Ari",
    "Blair", "Cody", "Devon", "Ellis", "Finley", "Glenn", "Hollis", "Jesse", "Kendall", "Lennie", "Marley", "Nico",
    "Orin", "Peyton", "Reese", "Skyler", "Tatum", "Val",
)  # fmt: skip
SURNAMES = (
    "Quillfeather", "Bramblewick", "Thistledown", "Marrowby", "Fenwhistle", "Puddlecombe", "Larkspindle", "Mossbottom",
    "Tumbleweed", "Inkwater", "Copperkettle", "Dandelion", "Hedgeworth", "Nettlefield", "Pebbleton", "Wobblestone",
    "Gorseberry", "Applethwaite", "Buttonwillow", "Candlewick", "Driftmoor", "Elderflower", "Fiddlesworth",
    "Gingersnap", "Hobnail", "Jumbleby", "Kettleburn", "Lanternfly", "Muddlecombe", "Oddfellow", "Picklesworth",
    "Rumbleford", "Sprocketson", "Teacosy", "Umbrellow", "Velvetine", "Whiskerby", "Yarrowby", "Zigzagg",
)  # fmt: skip

# Six services and the case types their teams hold.
SERVICES = (
    ("Assessment and Early Help", "Assessment", ("CIN", "CP")),
    ("Children in Need", "Family Support", ("CIN",)),
    ("Child Protection", "Safeguarding", ("CP", "CIN")),
    ("Children Looked After", "Looked After", ("CLA",)),
    ("Leaving Care", "Care Leavers", ("Care leaver",)),
    ("Disabled Children", "Disabled Children", ("CIN", "CP", "CLA")),
)
QA_SERVICE = "Quality Assurance and Safeguarding"
PAUSE_REASONS = ("Annual leave", "Long-term sickness", "Capacity agreed by Head of Service", "Parental leave")


@dataclass
class Authority:
    """A synthetic authority: its roster and caseload, and the Staff IDs the config names."""

    people: list[Person] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    hos_quality_assurance: str = ""
    qa_officer: str = ""
    moderators: list[str] = field(default_factory=list)

    @property
    def auditors(self) -> list[Person]:
        from caseaudit_batch.allocation.roster import AUDITING_ROLES

        return [p for p in self.people if p.role in AUDITING_ROLES and p.audit_status != "Left"]

    def write(self, roster_path: Path, caseload_path: Path) -> tuple[Path, Path]:
        """Write the roster and caseload (``.xlsx`` or ``.csv`` by suffix)."""
        return write_roster(roster_path, self.people), write_caseload(caseload_path, self.cases)


class _Names:
    def __init__(self, rng: random.Random) -> None:
        pairs = [(f, s) for f in FIRST_NAMES for s in SURNAMES]
        rng.shuffle(pairs)
        self._pairs = iter(pairs)

    def next(self) -> tuple[str, str]:
        first, last = next(self._pairs)
        return f"{first} {last}", f"{first}.{last}@demoshire.example".lower()


def make_authority(
    auditors: int = 150, *, cases: int | None = None, seed: int = 2026, today: date | None = None
) -> Authority:
    """Build an authority with about ``auditors`` auditors (all auditing roles, a few paused) and ``cases`` cases
    (default 20 per auditor). The same arguments always give the same authority."""
    rng = random.Random(seed)
    today = today or date(2026, 9, 1)
    n_services = max(2, min(len(SERVICES), round(auditors / 25)))
    n_teams = max(2 * n_services, round(auditors / 5))
    n_cases = cases if cases is not None else auditors * 20
    names = _Names(rng)
    people: list[Person] = []
    counter = iter(range(1001, 100000))

    def add(role: str, team: str = "", service: str = "", manager: str = "", status: str = "Active") -> Person:
        name, email = names.next()
        person = Person(f"S{next(counter)}", name, email, role, team, service, manager, status)
        people.append(person)
        return person

    director = add("Strategic Director")
    n_ads = max(1, n_services // 3)
    ads = [add("Assistant Director", manager=director.staff_id) for _ in range(n_ads)]
    psw = add("Principal Social Worker", service=QA_SERVICE, manager=ads[0].staff_id)
    hos_qa = add("Head of Service", service=QA_SERVICE, manager=ads[0].staff_id)
    qa_officers = [add("QA Officer", "Quality Assurance", QA_SERVICE, hos_qa.staff_id) for _ in range(2)]
    cp_coordinators = [
        add("Child Protection Coordinator", "Safeguarding Unit", QA_SERVICE, hos_qa.staff_id)
        for _ in range(max(2, n_teams // 4))
    ]
    iros = [
        add("Independent Reviewing Officer", "IRO Service", QA_SERVICE, hos_qa.staff_id)
        for _ in range(max(2, n_teams // 3))
    ]

    # Teams spread evenly over services; a service manager for every two teams.
    services = SERVICES[:n_services]
    team_plan: list[tuple[str, str, tuple[str, ...]]] = []
    for index in range(n_teams):
        service, stem, types = services[index % n_services]
        number = index // n_services + 1
        team_plan.append((service, f"{stem} Team {number}", types))
    team_managers: dict[str, Person] = {}
    team_workers: dict[str, list[Person]] = {}
    for s_index, (service, _, _) in enumerate(services):
        hos = add("Head of Service", service=service, manager=ads[s_index % n_ads].staff_id)
        teams = [t for t in team_plan if t[0] == service]
        for pair_start in range(0, len(teams), 2):
            manager = add("Service Manager", service=service, manager=hos.staff_id)
            for _service, team, _types in teams[pair_start : pair_start + 2]:
                team_managers[team] = add("Team Manager", team, service, manager.staff_id)
    fixed = len(
        [
            p
            for p in people
            if p.role not in ("QA Officer", "Child Protection Coordinator", "Independent Reviewing Officer")
        ]
    )
    n_supervisors = max(0, auditors - fixed)
    supervisors: dict[str, list[Person]] = {t: [] for t in team_managers}
    team_names = sorted(team_managers)
    for index in range(n_supervisors):
        team = team_names[index % len(team_names)]
        tm = team_managers[team]
        supervisors[team].append(add("Practice Supervisor", team, tm.service, tm.staff_id))
    workers_per_team = max(3, math.ceil(n_cases / n_teams / 17))
    for team in team_names:
        tm = team_managers[team]
        leads = supervisors[team] or [tm]
        team_workers[team] = [
            add("Social Worker", team, tm.service, leads[i % len(leads)].staff_id) for i in range(workers_per_team)
        ]
    # A few workers have left: they stay on the roster so that earlier IDs (previous workers) still resolve.
    leavers: list[Person] = []
    for team in team_names[: max(1, n_teams // 5)]:
        leaver = add("Social Worker", team, team_managers[team].service, team_managers[team].staff_id, "Left")
        leavers.append(leaver)

    # About one auditor in twelve is paused: some until after the allocation day (exempt), some back already.
    result: list[Person] = []
    for person in people:
        if person.role in ("Team Manager", "Practice Supervisor", "Service Manager") and rng.random() < 1 / 12:
            back_on = today + timedelta(days=rng.choice((-10, 5, 20, 45, 90)))
            person = Person(
                person.staff_id, person.name, person.email, person.role, person.team, person.service,
                person.line_manager_id, "Paused", back_on, rng.choice(PAUSE_REASONS),
            )  # fmt: skip
        result.append(person)

    all_cases: list[Case] = []
    refs = rng.sample(range(100000, 999999), n_cases)
    for index, ref in enumerate(refs):
        service, team, case_types = team_plan[index % n_teams]
        tm = team_managers[team]
        case_type = rng.choice(case_types)
        opened = today - timedelta(days=rng.randint(60, 2000))
        worker = rng.choice(team_workers[team]).staff_id
        roll = rng.random()
        if roll < 0.015:
            worker = ""  # awaiting allocation: passed over, and counted
        if roll > 0.93:  # re-allocated within the last month: three-way meeting advice where the old worker stays
            allocated = today - timedelta(days=rng.randint(1, 25))
        else:
            allocated = max(opened, today - timedelta(days=rng.randint(40, 700)))
        previous = ""
        if allocated > opened and rng.random() < 0.6:
            pool = team_workers[team] + [p for p in leavers if p.team == team]
            previous = rng.choice([p.staff_id for p in pool if p.staff_id != worker] or [""])
        if case_type == "CP":
            cp_iro = rng.choice(cp_coordinators).staff_id
        elif case_type == "CLA":
            cp_iro = rng.choice(iros).staff_id
        else:
            cp_iro = ""
        all_cases.append(
            Case(f"CR{ref}", case_type, service, team, worker, tm.staff_id, allocated, previous, cp_iro, opened)
        )
    return Authority(
        people=result,
        cases=all_cases,
        hos_quality_assurance=hos_qa.staff_id,
        qa_officer=qa_officers[0].staff_id,
        moderators=[q.staff_id for q in qa_officers] + [psw.staff_id],
    )
