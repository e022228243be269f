"""Sample news articles for txt_classifier.py: real local news vs LLM-written imitations.

Each pair shares one title. The "real" article is written in a small-town newsroom voice:
a dateline, named officials, exact numbers, times and addresses, quotes attributed inline,
short paragraphs, and now and then a list (a police log, a box score, property transfers).
The "fake" one imitates what a chat model writes from the title alone: it knows the town
and the subject but none of the real article's people or figures, so it invents its own
(stock names, round numbers, made-up programmes) and leans on upbeat abstractions, with some
of the tells listed in docs (placeholders like [Date], markdown bold and headers, bullet
lists, emoji, wrap-up lines, chatty closings).

What makes the text realistic is its long tail (see data/README.md for the statistics): most
people, streets and businesses of a real article appear in no other (sample_names builds
them from syllables), figures are exact, and each topic has its own detail and vocabulary
(sample_topics). Both voices borrow the other's sentences now and then (MIX), so word choice
across the whole article separates the classes while no single token does. Everything here
is invented: towns, outlets, people and numbers.

Templates use {a|b|c} for a random choice (nesting allowed) and <slot> for a value from the
article's context (see `_context`).
"""

import math
import re

import sample_names as names
from sample_topics import (
    CAST_REAL,
    CHATTY_CLOSINGS,
    COLOR_FAKE,
    COLOR_REAL,
    EDITOR_NOTES,
    EVERYDAY_QUOTES,
    FAKE_ATTRIBUTIONS,
    FAKE_BULLETS,
    FAKE_ORG_KINDS,
    FAKE_ORG_WORDS,
    FAKE_VERBS,
    GENERIC_FAKE_QUOTES,
    HEADERS,
    KIND,
    LISTS_REAL,
    PLACEHOLDERS,
    QUOTE_CLOSERS,
    QUOTE_OPENERS,
    REAL_ATTRIBUTIONS,
    SHARED,
    SUBJECT_FAKE,
    SUBJECT_REAL,
    TERMS_FAKE,
    TERMS_REAL,
    TOPICS,
    WRAP_UPS,
)
from sample_words import COMPOUND_HEADS, COMPOUND_TAILS, WORDS, plural, subject_words, zipf

# Chance that a sentence is taken from the other voice's pool, drawn per article from this
# range: the knob for how hard the text task is. 0 makes every sentence a giveaway; 0.5 makes
# an article read like the other class. Some chat-model articles read concrete (a prompt that
# asks for quotes), some real features read upbeat, so a linear model over word presence
# stays near the 95% it reaches on real course data, and no single token decides.
MIX = (0.2, 0.7)
# Share of a real article's facts that end with who said them ("..., Birchley said.").
ATTRIBUTED = 0.6
# Chance that a paragraph of a real article also names people who appear nowhere else.
CAST = 1.0

OUTLET_KINDS = [
    "Herald",
    "Gazette",
    "Courier",
    "Ledger",
    "Sentinel",
    "Tribune",
    "Record",
    "Chronicle",
    "Register",
    "Beacon",
    "Citizen",
    "Reporter",
    "Eagle",
    "News",
    "Journal",
    "Transcript",
]
DAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
MONTHS = (
    "January February March April May June July August September October November December".split()
)
EMOJI = ["🎉", "📅", "👏", "🚓", "📍", "🌧️", "🏀", "✨", "🙌", "💡", "🏫", "❤️", "🌳", "🚒", "🏡"]

# ---------------------------------------------------------------------------- template engine

_ALT = re.compile(r"\{([^{}]*)\}")
_SLOT = re.compile(r"<([A-Za-z0-9_]+)>")
_ARTICLE = re.compile(r"\b([Aa]) (?=[AEIOUaeiou](?!ni|nan|se|su|ti|ro|re[^a-z])|[Hh]our|8|11|18\b)")


def expand(template, rng, slots):
    """Resolve {a|b} choices (innermost first), then <slot> values; "a" becomes "an" where needed."""
    while True:
        resolved = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), template)
        if resolved == template:
            break
        template = resolved

    def fill(match):
        value = slots[match.group(1)]
        return value(rng) if callable(value) else value

    for _ in range(3):  # slot values may hold slots themselves
        template = _SLOT.sub(fill, template)
    template = template.replace("a.m..", "a.m.").replace("p.m..", "p.m.")
    return _ARTICLE.sub(lambda m: m.group(1) + "n ", template)


def _money(rng):
    if rng.random() < 0.45:
        return f"${rng.randint(1, 14)}.{rng.randint(1, 9)} million"
    return (
        f"${rng.randint(12, 990)},{rng.randint(0, 99) * 10:03d}"
        if rng.random() < 0.5
        else f"${rng.randint(12, 990)},000"
    )


def _time(rng):
    half = rng.choice(["a.m.", "p.m."])
    hour = rng.randint(5, 11) if half == "a.m." else rng.randint(1, 11)
    return f"{hour}{rng.choice(['', '', ':15', ':30', ':45', ':10', ':20', ':40', ':50', ':05'])} {half}"


def _email(rng, outlet):
    return f"{names.person(rng).split()[0][0].lower()}{names.surname(rng).lower().replace(' ', '')}@{re.sub(r'[^a-z]', '', outlet.lower())}.example"


def _fake_org(rng, town):
    words = rng.choice(FAKE_ORG_WORDS)
    return rng.choice(
        [
            f"the {town} {words} {rng.choice(FAKE_ORG_KINDS)}",
            f"the {rng.choice(['Greater', 'Regional', 'Community'])} {town} {rng.choice(FAKE_ORG_KINDS)}",
            f"{town} {words}",
            f"the {words} {rng.choice(FAKE_ORG_KINDS)}",
        ]
    )


def _context(rng, topic, town, county, outlet, invented=False):
    """Slot values for one article: the people, places and figures it is written around.

    The real article gets people from the town's long tail; the fake one (`invented`) gets
    what a chat model makes up: stock names half the time, and its own invented groups."""

    def someone(r):
        return r.choice(names.STOCK_NAMES) if invented and r.random() < 0.25 else names.person(r)

    people = [someone(rng) for _ in range(7)]
    streets = [names.street(rng) for _ in range(3)]
    ctx = {
        "Town": town,
        "County": county,
        "outlet_short": outlet.split()[-1],
        "Town2": names.town(rng),
        "Town3": names.town(rng),
        "street": streets[0],
        "street2": streets[1],
        "street3": streets[2],
        "company": names.contractor(rng),
        "contractor": names.contractor(rng),
        "shop": names.business(rng),
        "school": names.school(rng, town),
        "team": names.team(rng, town),
        "church": names.church(rng),
        "water": names.water(rng),
        "park": names.park(rng),
        "role": rng.choice(TOPICS[topic]["role"]),
        "day": rng.choice(DAYS),
        "day2": rng.choice(DAYS),
        "month": rng.choice(MONTHS),
        "month2": rng.choice(MONTHS),
        "vote": f"{rng.randint(3, 7)}-{rng.randint(0, 2)}",
        "score": (
            f"{rng.randint(40, 78)}-{rng.randint(30, 39)}"
            if rng.random() < 0.5
            else f"{rng.randint(2, 9)}-{rng.randint(0, 1)}"
        ),
        "reporter": names.person(rng),
        "email": lambda r: _email(r, outlet),
        "inches": str(rng.randint(8, 31)),
        "wind": str(rng.randint(45, 75)),
        "org": _fake_org(rng, town),
        "OrgWord": rng.choice(FAKE_ORG_WORDS),
    }
    for i, name in enumerate(people[:6], start=1):
        ctx[f"p{i}"], ctx[f"p{i}_last"] = name, name.split()[-1]
    resident = someone(rng)
    ctx.update(
        resident=resident,
        resident_last=resident.split()[-1],
        someone_last=lambda r: someone(r).split()[-1],
    )
    numbers = {
        "small": (2, 9),
        "small2": (2, 9),
        "small3": (10, 16),
        "small4": (2, 8),
        "med": (120, 990),
        "med2": (11, 48),
        "med3": (11, 48),
        "big": (1100, 9800),
        "big2": (1100, 9800),
        "house": (180, 720),
        "yr": (20, 98),
        "yr2": (10, 24),
        "dayn": (1, 28),
        "age": (17, 84),
        "two": (10, 59),
        "one": (1, 9),
    }
    for name, (low, high) in numbers.items():
        ctx[name] = lambda r, low=low, high=high: f"{r.randint(low, high):,}"
    ctx.update(
        pct=lambda r: f"{r.randint(3, 78)} percent",
        money=_money,
        time=_time,
        time2=_time,
        address=names.address,
        phone=names.phone,
        athlete=names.person,
        someone=someone,
        adj=lambda r: zipf(r, "upbeat"),
        adj2=lambda r: zipf(r, "upbeat"),
        noun=lambda r: zipf(r, "abstract"),
        noun2=lambda r: zipf(r, "abstract"),
        verb=lambda r: r.choice(FAKE_VERBS)[0],
        verbing=lambda r: r.choice(FAKE_VERBS)[1],
        Verbing=lambda r: r.choice(FAKE_VERBS)[1].capitalize(),
        anytown=names.town,
        noun3=lambda r: zipf(r, "abstract"),
        q_fake=lambda r: r.choice(GENERIC_FAKE_QUOTES),
        food_cap=lambda r: zipf(r, "food").title(),
    )
    spelled = "two three four five six seven eight nine ten twelve".split()
    ctx.update(  # the hyphenated compounds news is full of: a 38-acre parcel, the Ashford-based firm
        feet=lambda r: f"{r.randint(4, 120)}-foot",
        acres=lambda r: f"{r.randint(2, 460)}-acre",
        year_old=lambda r: f"{r.randint(17, 94)}-year-old",
        weeks=lambda r: f"{r.choice(spelled)}-week",
        bedrooms=lambda r: f"{r.choice(spelled[:4])}-bedroom",
        units=lambda r: f"{r.randint(4, 96)}-unit",
        based=lambda r: f"{names.town(r).split()[-1]}-based",
        owned=lambda r: f"{names.surname(r)}-owned",
        street4=names.street,
        business=names.business,
        compound=lambda r: f"{r.choice(COMPOUND_HEADS)}-{r.choice(COMPOUND_TAILS)}",
    )
    for (
        pool
    ) in WORDS:  # <occupation>, <item>, <item2>, <food>, ... : ordinary words with a long tail
        for suffix in ("", "2", "3"):
            ctx[pool + suffix] = lambda r, pool=pool: zipf(r, pool)
    for pool in ("item", "occupation", "building", "tree"):  # <items>, <occupations2>, ...: plurals
        for suffix in ("", "2", "3"):
            ctx[f"{pool}s{suffix}"] = lambda r, pool=pool: plural(zipf(r, pool))
    for suffix in ("", "2", "3"):  # <term>: this topic's own vocabulary
        ctx["term" + suffix] = lambda r: zipf(r, f"term_{topic}")
    return ctx


# ---------------------------------------------------------------------------- lists real articles carry


CHARGES = [
    "operating after suspension",
    "OUI",
    "disorderly conduct",
    "criminal trespass",
    "shoplifting",
    "violating a protective order",
    "possession of a class B drug",
    "leaving the scene of an accident",
    "criminal mischief",
    "speeding, 71 in a 45",
    "an unregistered vehicle",
    "failure to appear",
    "simple assault",
    "theft by unauthorized taking",
]
FIRE_CALLS = [
    "smoke detector activation",
    "chimney fire",
    "lift assist",
    "wires down",
    "car vs. pole",
    "odor of gas",
    "brush fire",
    "water in basement",
    "CO alarm",
    "motor vehicle crash",
]
AGENDA = [
    "Approved a request by <someone> to {build a garage|add a porch|cut a curb|put up a sign|divide a lot} at <address>, <vote>",
    "Appointed <someone> to the {Planning Board|Conservation Commission|Cemetery Commission|Library Trustees|Recreation Committee}",
    "Accepted a $<med2>,000 grant for {sidewalks|police radios|a new plow|the library roof|tree planting|a generator}",
    "Tabled a request to repave the <street4> lot",
    "Heard from <someone> of <street4> about {speeding|a drainage ditch|dog waste|a dead tree|noise from the mill}",
]
CONTESTS = [
    "pie",
    "chili",
    "quilt",
    "pickles",
    "jam",
    "photography",
    "vegetables",
    "pumpkin",
    "hay",
    "goats",
    "rabbits",
    "essay",
    "poster",
    "cake",
    "maple syrup",
]
CASES = [
    "<someone>, <age>, of <anytown>: {OUI|theft|assault|trespass|operating after suspension}, {fined $500|continued to <month>|30 days suspended|probation for a year|case dismissed}"
]

# The lists real papers print beside a story, by topic: (title, item template, how many).
_LISTS = {
    "crime": [
        (
            "Police log highlights:",
            "<someone>, <age>, of <anytown>, charged with <charge> on <street4>, <day>, <time>",
            1,
        )
    ],
    "courts": [("In <County> District Court this week:", CASES[0], 1)],
    "fire": [("Calls this week:", "<address>: <fire_call>, <time>", 1)],
    "council": [("Also on the agenda:", "<agenda>", 1)],
    "planning": [("Also on the agenda:", "<agenda>", 1)],
    "roads": [("Detours:", "<street4> to <street4> via <anytown>", 0.5)],
    "schools": [
        (
            "The proposed cuts include:",
            "{1|2|3|4} {paraprofessional|custodial|teaching|library aide|bus driver} positions, $<med>,000",
            0.5,
        )
    ],
    "weather": [
        ("Snowfall totals:", "<anytown>, <inches_tenths> inches", 1),
        ("Road closures:", "<street4> between <street4> and <street4>, <time> to <time2>", 1),
    ],
    "elections": [
        (
            "Results by precinct:",
            "<anytown> {Ward|Precinct} {1|2|3|4}: <p2_last> <med>, <p3_last> <med>",
            0.5,
        )
    ],
    "health": [
        (
            "Clinic schedule:",
            "<day>, <time> to <time2>, {<church>|<school>|<street4> Senior Center}",
            0.5,
        )
    ],
    "environment": [("Work days:", "<month> <dayn>, <park>, meet at <time> at <address>", 0.5)],
    "business": [("Property transfers:", "<address>, <someone> to <someone>, $<house>,<one>00", 1)],
    "farm": [
        ("Property transfers:", "<address>, <someone> to <someone>, $<house>,<one>00", 1),
        ("Ribbon winners:", "<contest>: <someone> of <anytown>", 1),
    ],
    "community": [("Winners:", "<contest>: <someone> of <anytown>", 1)],
    "arts": [("Winners:", "<contest>: <someone> of <anytown>", 1)],
}
# Lists printed as one paragraph of names or scores.
_RUN_ON = {
    "schools": ("<school> honor roll, grade {6|7|8|9|10|11|12}:", "<someone>", 3),
    "community": ("Volunteers and donors thanked:", "<someone>", 3),
    "sport": ("{Scoring|Leaders|<Town> scoring}:", "<surname> <points>", 1),
}


def _real_list(rng, topic, ctx):
    """A list a real local paper prints with a story of this topic: names, places and figures."""
    count = rng.randint(6, 14)
    slots = dict(
        ctx,
        charge=lambda r: r.choice(CHARGES),
        fire_call=lambda r: r.choice(FIRE_CALLS),
        agenda=lambda r: expand(r.choice(AGENDA), r, ctx),
        contest=lambda r: r.choice(CONTESTS),
        inches_tenths=lambda r: f"{r.randint(3, 29)}.{r.randint(0, 9)}",
        surname=names.surname,
        points=lambda r: str(r.randint(2, 24)),
    )
    if topic == "sport" and rng.random() < 0.5:
        games = [
            expand(
                f"<anytown> {rng.randint(38, 81)}-{rng.randint(22, 60)} over <anytown>"
                if rng.random() < 0.6
                else f"<anytown> {rng.randint(1, 9)}-{rng.randint(0, 4)} over <anytown>",
                rng,
                slots,
            )
            for _ in range(count)
        ]
        return (
            expand("{Other scores|Around the league|Elsewhere}: ", rng, slots)
            + "; ".join(games)
            + "."
        )
    if topic in _RUN_ON and (topic not in _LISTS or rng.random() < 0.5):
        title, item, per = _RUN_ON[topic]
        names_listed = [expand(item, rng, slots) for _ in range(count * per)]
        return f"{expand(title, rng, slots)} " + ", ".join(names_listed) + "."
    title, item, share = rng.choice(_LISTS[topic])
    items = [expand(item, rng, slots) for _ in range(max(3, int(count * share)))]
    if rng.random() < 0.7:  # most papers print a list run on, one item after another
        return f"{expand(title, rng, slots)} " + "; ".join(items) + "."
    return expand(title, rng, slots) + "\n" + "\n".join(f"- {line}" for line in items)


# ---------------------------------------------------------------------------- writing an article


class _Writer:
    """Writes the sentences of one article in one voice, without repeating a template."""

    def __init__(self, rng, pools, ctx, voice, mix):
        self.rng, self.pools, self.ctx, self.voice, self.mix = rng, pools, ctx, voice, mix
        self.other = "fake" if voice == "real" else "real"
        self.used, self.named = set(), set()

    def _voice(self):
        return self.other if self.rng.random() < self.mix else self.voice

    def _template(self, pool):
        fresh = [t for t in pool if t not in self.used]
        if not fresh:
            return None
        template = self.rng.choice(fresh)
        self.used.add(template)
        return template

    def sentence(self, beat):
        """A sentence for `beat`, usually in this voice, sometimes borrowed from the other; None
        when every template for it has been used (a fact is not stated twice)."""
        if beat == "quote":
            return self.quote()
        if beat == "cast":
            template = self._template(self.pools["cast_real"])
            return expand(template, self.rng, self.ctx) if template else None
        template = self._template(self.pools[f"{beat}_{self._voice()}"])
        if template is None and beat != "detail":
            template = self._template(self.pools[f"detail_{self.voice}"])
        if template is None:
            return None
        text = expand(template, self.rng, self.ctx)
        share = ATTRIBUTED if self.voice == "real" else ATTRIBUTED * self.mix
        if beat == "detail" and " said" not in text and self.rng.random() < share:
            verb = self.rng.choice(
                ["said"] * 6 + ["added"]
                if self.voice == "real"
                else ["noted", "added", "explained", "said"]
            )
            text = f"{text.rstrip('.')}, {self.rng.choice([self.ctx['p1_last'], self.ctx['p2_last'], self.ctx['p3_last']])} {verb}."
        return text[0].upper() + text[1:]

    def quote(self):
        rng, ctx = self.rng, self.ctx
        voice = self._voice()
        pool = self.pools[f"quote_{voice}"] + (EVERYDAY_QUOTES if voice == "real" else [])
        template = self._template(pool)
        if template is None:
            return None
        quote = expand(template, rng, ctx)
        if (
            voice == "real" and rng.random() < 0.5
        ):  # people talk: "Look, ...", "..., and that's the truth"
            if rng.random() < 0.5:
                quote = f"{rng.choice(QUOTE_OPENERS)} {quote[0].lower() + quote[1:] if quote[:2] != 'I ' else quote}"
            else:
                quote = f"{quote.rstrip('.')}, {expand(rng.choice(QUOTE_CLOSERS), rng, ctx)}"
        if rng.random() < 0.35:  # someone who speaks once: a neighbor, a parent, a shop owner
            name = ctx["someone"](rng)
            who = expand(
                f"{name}, {rng.choice(['a', 'a local', 'a retired', 'a longtime'])} <occupation>",
                rng,
                ctx,
            )
            return f'"{quote.rstrip(".")}," said {who}.'
        name = rng.choice([ctx["p1"], ctx["p2"], ctx["p3"], ctx["resident"]])
        if name in self.named and (
            self.voice == "real" or rng.random() < 0.5
        ):  # the full name once
            who = name.split()[-1]
        elif self.voice == "fake" and rng.random() < 0.3:
            who = f"{rng.choice(['resident', 'local parent', 'longtime resident', 'volunteer'])} {name}"
        else:
            who = f"{ctx['role']} {name}" if name == ctx["p1"] and rng.random() < 0.6 else name
        self.named.add(name)
        form = rng.choice(REAL_ATTRIBUTIONS if self._voice() == "real" else FAKE_ATTRIBUTIONS)
        slots = dict(ctx, q=quote.rstrip("."), who=who, who_last=name.split()[-1])
        text = expand(form, rng, slots)
        return text[0].upper() + text[1:]

    def paragraph(self, beat, sizes):
        sentences = [self.sentence(beat) for _ in range(self.rng.choice(sizes))]
        return " ".join(s for s in sentences if s)


def _words(paragraphs):
    return sum(len(p.split()) for p in paragraphs)


def _real_article(rng, pools, topic, ctx, title, target_words):
    writer = _Writer(rng, pools, ctx, "real", rng.uniform(*MIX))
    lead = writer.sentence("lead")
    if rng.random() < 0.55:
        lead = f"{ctx['Town'].upper()} — {lead}"
    paragraphs = [lead]
    beats = ["detail", "quote", "detail", "quote", "background", "quote", "detail"]
    lists = 0
    while _words(paragraphs) < target_words:
        paragraph = writer.paragraph(beats[(len(paragraphs) - 1) % len(beats)], [1, 1, 2])
        if paragraph:
            # Local news names everyone: who spoke, who owns the lot, who won the pie contest.
            # (An article that borrows much of the other voice names fewer people and prints fewer lists.)
            cast = [
                writer.sentence("cast")
                for _ in range(2 if rng.random() < 0.5 else 1)
                if rng.random() < CAST * (1.3 - writer.mix)
            ]
            paragraphs.append(" ".join([paragraph, *filter(None, cast)]))
        # Long stories and some short ones carry a list; once the templates run out, lists carry on.
        wants_list = (
            rng.random() < 0.4 * (1 - writer.mix)
            or (target_words > 600 and rng.random() < 0.15)
            or not paragraph
        )
        if _words(paragraphs) < target_words and wants_list and lists < 6:
            paragraphs.append(_real_list(rng, topic, ctx))
            lists += 1
        elif not paragraph:
            break
    if rng.random() < 0.6:
        paragraphs.append(writer.sentence("next") or "This story will be updated.")
    if rng.random() < 0.06:
        paragraphs.append(expand(rng.choice(EDITOR_NOTES), rng, ctx))
    return title + "\n" + "\n\n".join(paragraphs)


def _fake_article(rng, pools, ctx, title, target_words):
    bold = rng.random() < 0.07
    date = rng.choice(["[Date]", "[Insert Date]"]) if rng.random() < 0.5 else ctx["month"]
    ctx = dict(ctx, bold="**" if bold else "", date_ph=date)
    writer = _Writer(rng, pools, ctx, "fake", rng.uniform(*MIX))
    use_headers = rng.random() < 0.12
    use_emoji = rng.random() < 0.02
    first_line = title
    if (bold or use_headers) and rng.random() < 0.3:
        first_line = rng.choice([f"**{title}**", f"# {title}"])
    lead = writer.sentence("lead")
    if rng.random() < 0.04:
        lead = f"[City], [Date] — {lead}"
    elif rng.random() < 0.15:
        lead = f"{ctx['Town']} — {lead}"
    paragraphs = [lead]
    beats = ["detail", "quote", "background", "quote", "detail", "quote", "detail", "next"]
    while _words(paragraphs) < target_words:
        if use_headers and rng.random() < 0.35:
            header = rng.choice(HEADERS) + (f" {rng.choice(EMOJI)}" if use_emoji else "")
            paragraphs.append(f"### {header}" if rng.random() < 0.7 else f"**{header}**")
        paragraph = writer.paragraph(beats[(len(paragraphs) - 1) % len(beats)], [1, 2, 2, 3])
        if not paragraph:
            # A long answer from a chat model does repeat its points, but not its quotes.
            writer.used = {
                t for t in writer.used if t in pools["quote_fake"] or t in pools["quote_real"]
            }
            paragraph = writer.paragraph("detail", [1, 2])
            if not paragraph:
                break
        if rng.random() < CAST * writer.mix:  # asked for quotes, a chat model names people too
            paragraph = " ".join(filter(None, [paragraph, writer.sentence("cast")]))
        paragraphs.append(paragraph)
    if rng.random() < 0.2:
        bullets = rng.sample(FAKE_BULLETS, rng.randint(3, 5))
        intro = rng.choice(["Key points:", "Here's what residents need to know:", "At a glance:"])
        paragraphs.append(
            expand(f"<bold>{intro}<bold>\n" + "\n".join(f"- {b}" for b in bullets), rng, ctx)
        )
    if rng.random() < 0.06:
        paragraphs[rng.randrange(len(paragraphs))] += f" {rng.choice(PLACEHOLDERS)}"
    if rng.random() < 0.4:
        paragraphs.append(expand(rng.choice(WRAP_UPS), rng, ctx))
    if use_emoji:
        paragraphs[-1] += f" {rng.choice(EMOJI)}"
    if rng.random() < 0.07:
        paragraphs.append(rng.choice(CHATTY_CLOSINGS))
    return first_line + "\n" + "\n\n".join(paragraphs)


def _typeset(article, rng, voice):
    """Typography as published: half of all articles (either voice) have curly quotes and
    apostrophes in the body, as most news sites and many chat interfaces print them; dashes are
    closed up (community—and) by a chat model more often than by a newspaper, and some house
    styles print "43%". The title line is left as it was written, the prompt's own words."""
    title, text = article.split("\n", 1)
    if rng.random() < 0.5:
        text = re.sub(r'(^|[\s(\[])"', "\\1“", text, flags=re.M).replace('"', "”")
        text = re.sub(r"(\w)'(\w)", "\\1’\\2", text)
    if rng.random() < (
        0.45 if voice == "fake" else 0.3
    ):  # house style: some papers close up dashes too
        text = text.replace(" — ", "—")
    if rng.random() < 0.4:  # house style: "43%" rather than "43 percent"
        text = re.sub(r"(\d) percent\b", "\\1%", text)
    return f"{title}\n{text}"


def _target_words(rng, median):
    # Log-normal lengths: mean a little above the median, a long thin tail.
    words = int(median * math.exp(rng.gauss(0.0, 0.5)))
    if rng.random() < 0.012:
        words = rng.randint(1500, 2400)
    return max(90, min(words, 2400))


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]


def _prompt(rng, title):
    form = rng.choice(
        [
            'Write a news article with the following title: "{t}"',
            "Write a local news story for a small-town newspaper titled {t}",
            'Generate a realistic news article based on this headline: "{t}". Include quotes.',
            "Write a {n}-word article for a community paper with the headline:\n{t}",
            "You are a local reporter. Write an article with the title “{t}”.",
        ]
    )
    return form.format(t=title, n=rng.choice([300, 400, 500, 600]))


def make_pair(rng):
    """One (real, fake) pair of rows: dicts with article, source, label, label_idx."""
    topic = rng.choice(sorted(TOPICS))
    pools = dict(TOPICS[topic])
    for beat, sentences in SHARED.items():
        pools[beat] = sentences + TOPICS[topic].get(beat, [])
    kind = KIND[topic]
    pools["detail_real"] = (
        pools["detail_real"]
        + COLOR_REAL[topic]
        + TERMS_REAL[kind]
        + LISTS_REAL[kind]
        + SUBJECT_REAL
    )
    pools["detail_fake"] = pools["detail_fake"] + COLOR_FAKE + TERMS_FAKE + SUBJECT_FAKE
    pools["cast_real"] = CAST_REAL[kind]
    town, county = names.town(rng), names.county(rng)
    outlet = rng.choice(
        [f"{town} {rng.choice(OUTLET_KINDS)}", f"{county} County {rng.choice(OUTLET_KINDS)}"]
    )
    real_ctx = _context(rng, topic, town, county, outlet)
    real_ctx["subject"] = expand(rng.choice(TOPICS[topic]["subject"]), rng, real_ctx)
    # What this story is about, in its own words (both voices know them: they come from the title).
    about = subject_words(real_ctx["subject"]) or WORDS[f"term_{topic}"]
    title = expand(rng.choice(pools["titles"]), rng, real_ctx)
    title = title[0].upper() + title[1:]
    # The chat model sees only the title: the town and subject carry over, nothing else does.
    fake_ctx = _context(rng, topic, town, county, outlet, invented=True)
    fake_ctx["subject"] = real_ctx["subject"]
    for ctx in (real_ctx, fake_ctx):
        for suffix in ("", "2", "3"):
            ctx["subj" + suffix] = lambda r: r.choice(about)
    real_words = _target_words(rng, 290)
    fake_words = min(2400, int(_target_words(rng, 290) * rng.uniform(0.95, 1.35)))
    real = _typeset(_real_article(rng, pools, topic, real_ctx, title, real_words), rng, "real")
    fake = _typeset(_fake_article(rng, pools, fake_ctx, title, fake_words), rng, "fake")
    domain = re.sub(r"[^a-z]", "", outlet.lower()) + ".example"
    url = f"https://www.{domain}/{topic}/20{rng.randint(21, 25)}/{rng.randint(1, 12):02d}/{_slug(title)}"
    return [
        {"article": real, "source": url, "label": "real", "label_idx": 0},
        {"article": fake, "source": _prompt(rng, title), "label": "fake", "label_idx": 1},
    ]
