"""The demo authority's free text (issue 21): strengths, learning, recommendations, organisational learning, section
findings, impact and diversity answers, written from templates with variation so that theme analysis on the demo
means something (several hundred distinct sentences across the themes).

A template's ``{a|b|c}`` is one of its choices; :func:`distinct` counts what a template can say. Themes drift over the
year: the demo's QA team runs chronology training in the fifth month played (April when the demo ends in November),
so chronology falls away as learning and grows as a strength afterwards; life story work (in no theme of the shipped
taxonomy) is said more and more, so "possible new themes" has something to find. Everything is invented: no child or
family is named (the prose says "the child", "the young person", "mum"), and everything is drawn from the ``random``
the caller passes, so the demo stays deterministic.
"""

from __future__ import annotations

import random
import re

TRAINING_MONTH_INDEX = 4  # chronology training in the fifth month played
_CHOICE = re.compile(r"\{([^{}]*)\}")

# Each theme's learning points ("what we must improve") and strengths ("what we do well").
LEARNING: dict[str, tuple[str, ...]] = {
    "chronology": (
        "The {chronology|case chronology|family chronology} {has not been updated since the last review|stops before "
        "the most recent strategy discussion|lists contacts rather than significant events|is missing the move to a "
        "new school}.",
        "{Update|Complete|Rebuild} the chronology {after every significant event|before the next review|with partner "
        "agencies' information} so that {patterns are visible|the history informs the plan|a new worker can see what "
        "has happened}.",
    ),
    "voice": (
        "The {child's|young person's} {wishes and feelings are|voice is} {not recorded at recent visits|described by "
        "adults rather than in their own words|missing from the assessment|not used to shape the plan}.",
        "{Record|Capture|Show} {how the child presented|what the young person said|the child's views} at {every "
        "visit|each review|key meetings} so the plan reflects {their daily life|what matters to them|their lived "
        "experience}.",
    ),
    "oversight": (
        "{Supervision|Management oversight} {is recorded but actions are carried forward without review|does not say "
        "why decisions were made|has not been recorded for over two months|lists tasks without reflection}.",
        "{Record|Evidence} management oversight {monthly|at each key decision|after each core group} with {the "
        "rationale for decisions|what should change for the child|clear actions and timescales}.",
    ),
    "assessment": (
        "The assessment {describes events but does not analyse them|is out of date and does not reflect current "
        "risks|does not consider parenting capacity|leaves out the history of previous referrals}.",
        "{Update|Review} the assessment {so it analyses risk and strengths|with the father's views|so it reflects "
        "what life is like for the child now}.",
    ),
    "plans": (
        "The {care plan|child in need plan|child protection plan|pathway plan} {lists tasks but not outcomes|is not "
        "SMART|has no contingency plan|has not been reviewed since the last core group}.",
        "Make {every action in the plan|the plan's actions|the contingency plan} SMART so {everyone knows what should "
        "change|the family know what is expected|progress can be measured}.",
    ),
    "drift": (
        "There {has been drift|is delay} {since the change of worker|in starting direct work|in arranging the review "
        "meeting|in completing the assessment}, and {the child has waited too long|actions are overdue|the plan has "
        "not moved on}.",
        "{Statutory visits are|Reviews are|Core group meetings are} {out of timescale|overdue|not held on time} "
        "{without a recorded reason|for {two|three} months running}.",
    ),
    "partners": (
        "{Information sharing with|Involvement of} {school|the health visitor|the police|partner agencies} is "
        "{not recorded|patchy|unclear in the plan}.",
        "{Invite|Involve} {school|health|partner agencies} {in core group meetings|in the review|in the safety plan} "
        "and record {their views|what each agency will do}.",
    ),
    "families": (
        "The {father's|wider family's|grandparents'} {views are absent from the record|involvement is not "
        "explored|part in the plan is unclear}.",
        "{Engage|Involve} {the father|the wider family network|both parents} {in the plan|in a family group "
        "conference|in the review}.",
    ),
    "risk": (
        "The {safety plan|risk assessment} {does not address|has not been updated after} {domestic abuse|the missing "
        "episodes|exploitation concerns|the new partner in the home}.",
        "Risk {of exploitation|of neglect|from domestic abuse} is {named but not analysed|not reviewed after new "
        "information|not reflected in the safety plan}.",
    ),
    "identity": (
        "The {child's|young person's} {identity|culture and faith|first language|disability} {is not considered in "
        "the plan|is recorded but not explored|is not reflected in direct work}.",
    ),
}
STRENGTHS: dict[str, tuple[str, ...]] = {
    "chronology": (
        "The chronology is {up to date|clear and concise|shared with partners} and {shows patterns of "
        "concern|informs the plan|helps a new reader quickly}.",
        "The case summary {is up to date|gives a clear picture quickly|tells the child's story well}.",
    ),
    "voice": (
        "{Direct work|Warm, respectful direct work|Creative direct work} {captures the child's wishes and "
        "feelings|shows the young person's voice clearly|records the child's views in their own words}.",
        "The {child was|young person was} seen alone at {every visit|each statutory visit} and {their views shape the "
        "plan|what they said is recorded}.",
    ),
    "oversight": (
        "{Supervision is|Management oversight is} {reflective and timely|regular and tracks actions|recorded with the "
        "rationale for decisions}.",
    ),
    "assessment": (
        "The assessment {analyses risk and strengths well|is timely and analytical|weighs parenting capacity "
        "carefully}.",
    ),
    "plans": (
        "The plan is {SMART|clear and reviewed regularly|focused on outcomes for the child} and {the family understand "
        "it|everyone knows their part}.",
    ),
    "partners": (
        "{Strong multi-agency working|Good information sharing with school and health|Effective partnership "
        "working} {informs the plan|means concerns are acted on quickly|keeps the child safe}.",
    ),
    "families": (
        "{Mum and dad are|Both parents are|The wider family are} {engaged in the plan|involved in decisions|part of a "
        "family network meeting}.",
    ),
    "risk": (
        "The safety plan is {clear and shared with the family|reviewed after each incident|understood by the young "
        "person}.",
    ),
    "identity": (
        "The {family's culture and faith are|child's identity needs are} {considered in the plan|respected "
        "in direct work|recorded and explored}.",
    ),
}
# Text in no theme of the shipped taxonomy (possible new themes), said more as the year goes on.
EMERGING = (
    "Life story work {has not started|is not yet planned|should begin before the move|would help the child make "
    "sense of their history}.",
    "{Transition|The transition} to adult services {is not yet planned|needs planning now|should start at sixteen}.",
)
ORG_LEARNING = (
    "{Several files|Files across the service|A number of files} show {drift after a change of worker|chronologies "
    "that are out of date|plans that are not SMART|little evidence of the father's views}; {a shared "
    "standard|a quick guide|a practice workshop|team training} would help.",
    "Life story work is {rarely started|often delayed|not consistently offered} for children in care; {consider a "
    "practice guide|a champion in each team would help}.",
)
_OPENINGS = {
    "Outstanding": (
        "{Exemplary practice|Excellent practice|Practice of a very high standard} {throughout this part of the "
        "record|in this area}.",
    ),
    "Good": ("Practice in this area is {good overall|consistently good|sound and up to date}.",),
    "Requires Improvement": (
        "Practice here {is inconsistent and requires improvement|has gaps|is present but not consistent}.",
    ),
    "Inadequate": (
        "{This area is a serious weakness|Essential recording is missing|Practice falls well short of the "
        "standard} {on this file|in this part of the record}.",
    ),
}
IMPACT = {
    True: (
        "As a result the {child|young person} {is safer at home|is happier and more settled|now attends school "
        "regularly|has a consistent worker who knows them well}.",
        "{Because of this|Since the plan began} the {child|young person} {feels listened to|is more settled in "
        "placement|has made progress at school|says they feel safe}.",
        "The family {are clear about what is expected and why|have stability for the first time|report that home "
        "life has improved}.",
    ),
    False: (
        "This means the {child's|young person's} needs may not be {fully understood|met consistently|"
        "known to everyone working with the family}.",
        "The impact is that {progress against the plan is hard to measure|the child has waited too long for "
        "support|there has been no improvement for the child yet}.",
        "As a result the young person has had {two|three|four} changes of worker and {has not been seen alone|does "
        "not know who to contact}.",
    ),
}
DIVERSITY = (
    "The family's {culture and faith are|first language is} {recorded and considered in the plan|respected in "
    "direct work}.",
    "{An interpreter was used for key meetings|Communication aids were used in direct work} and {the child's "
    "identity needs are considered|the plan reflects this}.",
    "The impact of {disability|the child's additional needs} on {communication|daily life} is {recorded and "
    "adjustments are made|not yet explored}.",
)
_SECTION_THEMES = ("risk", "assessment", "plans", "voice", "families", "partners", "oversight", "chronology", "drift")


def fill(rng: random.Random, template: str) -> str:
    """One sentence of ``template``: each ``{a|b}`` replaced by one of its choices (innermost first)."""
    while "{" in template:
        template = _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    return template


def variants(template: str) -> set[str]:
    """Every sentence ``template`` can say."""
    match = _CHOICE.search(template)
    if match is None:
        return {template}
    return {
        s
        for option in match.group(1).split("|")
        for s in variants(template[: match.start()] + option + template[match.end() :])
    }


def every_template() -> list[str]:
    pools = [*LEARNING.values(), *STRENGTHS.values(), EMERGING, ORG_LEARNING, *_OPENINGS.values(), *IMPACT.values()]
    return [t for pool in pools for t in pool] + list(DIVERSITY)


def distinct() -> set[str]:
    """Every sentence the demo can write (the name scan reads them all)."""
    return {s for template in every_template() for s in variants(template)}


def _after_training(month_index: int) -> bool:
    return month_index > TRAINING_MONTH_INDEX


def _learning_weights(month_index: int) -> dict[str, float]:
    weights = {theme: 1.0 for theme in LEARNING}
    weights["chronology"] = 0.4 if _after_training(month_index) else 3.0
    weights["voice"] = 1.6
    return weights


def _pick(rng: random.Random, pools: dict[str, tuple[str, ...]], weights: dict[str, float]) -> str:
    theme = rng.choices(list(weights), [weights[t] for t in weights])[0]
    return fill(rng, rng.choice(pools[theme]))


def learning(rng: random.Random, month_index: int) -> str:
    """A learning point; now and then (more as the year goes on) the emerging life story work."""
    if rng.random() < 0.03 + 0.02 * month_index:
        return fill(rng, EMERGING[0])
    return _pick(rng, LEARNING, _learning_weights(month_index))


def recommendation(rng: random.Random, month_index: int) -> str:
    if rng.random() < 0.08:
        return fill(rng, EMERGING[1])
    return _pick(rng, LEARNING, _learning_weights(month_index))


def strength(rng: random.Random, month_index: int) -> str:
    weights = {theme: 1.0 for theme in STRENGTHS}
    weights["chronology"] = 2.5 if _after_training(month_index) else 0.4
    return _pick(rng, STRENGTHS, weights)


def org_learning(rng: random.Random, month_index: int) -> str | None:
    """About half the audits have an organisational learning point."""
    if rng.random() < 0.5:
        return None
    return fill(rng, ORG_LEARNING[1 if rng.random() < 0.05 * month_index else 0])


def findings(rng: random.Random, grade: str, section: int, month_index: int) -> str:
    """A section's findings: an opening on the grade, then a point on the section's own theme (good or poor)."""
    theme = _SECTION_THEMES[(section - 1) % len(_SECTION_THEMES)]
    good = grade in ("Good", "Outstanding")
    if good and theme in STRENGTHS:
        detail = fill(rng, rng.choice(STRENGTHS[theme]))
    elif not good and theme in LEARNING:
        detail = fill(rng, rng.choice(LEARNING[theme]))
    else:
        detail = _pick(rng, STRENGTHS, {t: 1.0 for t in STRENGTHS}) if good else learning(rng, month_index)
    return f"{fill(rng, rng.choice(_OPENINGS[grade]))} {detail}"


def impact(rng: random.Random, good: bool) -> str:
    return fill(rng, rng.choice(IMPACT[good]))


def diversity(rng: random.Random) -> str:
    return fill(rng, rng.choice(DIVERSITY))
