"""Generate SQuAD-style question-answer examples over made-up facts, to train the demo reader.

Every paragraph is written here from templates and random made-up facts (people, places,
dates, numbers, organisations, events, causes, money, titles, founders, products); nothing is
copied from a data set. The same seed always gives the same examples. Pure python, no deps.

    python scripts/make_qa_examples.py --n 2000 --seed 7 --out /tmp/qa.json
"""
from __future__ import annotations

import argparse
import json
import random
import string
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

# ----------------------------------------------------------------------------- word pools
FIRST_F = """Anna Maria Elena Sofia Clara Ingrid Amara Leila Priya Mei Yuki Hana Olga Irina Nadia
Fatima Aisha Zara Grace Helen Ruth Alice Margaret Joan Lucia Beatriz Camille Margot Astrid Freya
Kirsten Rosa Teresa Nora Esther Miriam Layla Keiko Sunita Adaeze Chiamaka Ewa Zofia Marta Greta
Ines Julia Vera Diana Laura Emily Sarah Rachel Hannah Lena Tamsin Carys Siobhan""".split()
FIRST_M = """John Thomas William Henry Peter Paul David Daniel Samuel Oliver Lucas Mateo Diego
Carlos Marco Luca Pierre Henri Jan Pavel Ivan Dmitri Sergei Ahmed Omar Yusuf Karim Ravi Arjun
Vikram Kenji Hiroshi Takeshi Wei Jun Min Kwame Kofi Tunde Emeka Lars Erik Nils Sven Anders Bjorn
Miguel Rafael Tomas Stefan Viktor Andrei George Edward Arthur Hugh Owen Rhys Declan Felix""".split()
SURNAMES = """Novak Halvorsen Okafor Mendes Tanaka Whitlock Brandt Castellano Ivanova Lindgren
Moreau Fischer Kowalski Adeyemi Sato Gallagher Petrov Rossi Haddad Nakamura Ferreira Johansson
Abernathy Varga Dumont Eriksen Kaur Mehta Osei Mbeki Carrington Delacroix Hartmann Blackwood
Ashworth Thornbury Pemberton Quinlan Rasmussen Ortega Salazar Bianchi Kim Park Chen Huang Nguyen
Tran Suzuki Yamamoto Kuznetsov Popescu Horvat Nowak Dvorak Keller Wagner Becker Schulz Lambert
Fontaine Morello Greco Costa Silva Santos Pereira Alvarez Romero Navarro Vasquez Ibrahim Mansour
Farouk Eze Nwosu Mensah Asante Kipkemboi Otieno Odhiambo Larsen Berg Holm Stroud Vance Merrow
Colquhoun Pryce Harrow Kestrel Linwood Ashby Fairbairn Callander Dunmore Redfern Sorensen""".split()
CITY_A = """Bren Ash Marl Thorn Kings Elm Wolver Stan Har Dun Rox Kel Bel Fair Glen Red Lin Mor Pen
Ross Sil Wex Ald Brack Cor Fen Hol Lan Nor Rav Sel Tal Ver Wyn Oak Stone Mill Brook""".split()
CITY_B = """wick ford bridge ton ham field stead mouth by dale holm port burg ley minster haven
worth crest gate vale""".split()
REAL_CITIES = """Lyon Porto Leeds Krakow Osaka Austin Bergen Ghent Tampere Graz Cork Bologna Seville
Utrecht Malmo Brno Nantes Aarhus Dresden Valencia Perth Halifax Winnipeg Mombasa Accra Kumasi
Pune Surat Cebu Busan Sapporo Curitiba Rosario Arequipa Medellin Tartu Riga Vilnius Plovdiv
Split Turku Basel Lucerne Bilbao Genoa Trieste Salzburg Innsbruck Odense Tromso Dundee Swansea
Galway Calgary Tucson Boise Adelaide Hobart Dunedin Nagoya Fukuoka Daegu Durban Kisumu Arusha""".split()
COUNTRIES = """France Portugal Norway Japan Canada Kenya Ghana India Brazil Peru Chile Poland
Sweden Finland Austria Italy Spain Germany Ireland Scotland Wales Denmark Estonia Latvia Romania
Croatia Greece Turkey Egypt Morocco Nigeria Tanzania Mexico Argentina Colombia Australia Iceland
Belgium Netherlands Switzerland Hungary Slovenia Vietnam Thailand Indonesia Malaysia""".split()
REGIONS = """the northern highlands|the eastern lowlands|the river valley|the coastal plain|the
southern province|the western hills|the lake district|the central plateau|the delta region|the
mountain border region""".replace("\n", " ").split("|")
RIVERS = """Arden Vessel Talmor Rhyn Ouse Severin Dravo Kessel Lune Wendle Marrow Calder Tamsa
Orin Velka Brannock Sallow Edern Grisa Moyle""".split()
NATIONALITIES = """French Portuguese Norwegian Japanese Canadian Kenyan Ghanaian Indian Brazilian
Peruvian Chilean Polish Swedish Finnish Austrian Italian Spanish German Irish Scottish Danish
Dutch Belgian Swiss Hungarian Mexican Argentine Australian Nigerian Egyptian""".split()
PROFESSIONS = """chemist physicist engineer architect novelist poet painter sculptor composer
botanist geologist historian economist surgeon astronomer mathematician photographer journalist
diplomat biologist economist philosopher inventor violinist explorer""".split()
FIELDS = """chemistry physics mathematics medicine law economics history philosophy geology biology
architecture music engineering astronomy linguistics botany agriculture statistics
journalism""".split()
TITLES = """chief engineer|head of research|managing director|chief financial officer|senior
editor|lead designer|director of operations|chief scientist|head of marketing|general
counsel|principal architect|production manager|chief economist|vice president|head
librarian""".replace("\n", " ").split("|")
PUBLIC_TITLES = """mayor|police chief|fire chief|governor|health minister|transport
minister|city council leader|regional director|harbour master|school principal""".replace(
    "\n", " ").split("|")
RESEARCH = """the migration of birds|coral reef ecology|early medieval trade routes|soil
bacteria|the chemistry of glass|volcanic eruptions|childhood memory|ancient irrigation
systems|deep-sea fish|solar storms|the spread of malaria|rural poverty|urban transport|wheat
diseases|the history of printing|glacier retreat|language change|the structure of
proteins|river pollution|the behaviour of bees|earthquake prediction|bridge
design|antibiotic resistance|the economics of fishing|medieval music""".replace("\n", " ").split("|")
WORKS = """her discoveries in organic chemistry|his work on radio waves|research into vaccines|a
study of ocean currents|the design of a new water pump|work on crop yields|contributions to
number theory|a series of landscape paintings|a novel about the war|a new method for
purifying water|the discovery of a comet|research on sleep|an opera about the sea|a survey of
ancient coins""".replace("\n", " ").split("|")
INVENTIONS = """a folding bicycle|the first electric kettle|a portable radio|a water filter|a
solar cooker|a mechanical calculator|a diving helmet|a crop sprayer|a pocket camera|a hearing
aid|an improved steam valve|a braille typewriter|a wind-up torch|a weather balloon|a cheap
microscope""".replace("\n", " ").split("|")
ADJS = """Silent Golden Hidden Northern Broken Distant Burning Quiet Last Iron Crimson Winter
Endless Frozen Bright Lost Open Hollow Restless Wandering""".split()
NOUNS = """Harbour River Garden Mountain Lantern Bridge Orchard Tide Forest Compass Voyage Tower
Season Island Road Archive Meadow Signal Crown Valley""".split()
INDUSTRIES = """Shipping|Textiles|Steel|Software|Foods|Pharmaceuticals|Motors|Glassworks|Energy|
Airlines|Publishing|Instruments|Chemicals|Brewing|Telecom|Robotics|Optics|Paper""".replace(
    "\n", "").split("|")
ORG_SUFFIX = ["Company", "Group", "Ltd", "Corporation", "Inc.", "Works", "Holdings", "and Sons"]
PRODUCTS = """electric bicycles|frozen fish|accounting software|hearing aids|solar panels|office
chairs|wind turbines|children's books|canned tomatoes|running shoes|medical scanners|
farm tractors|ceramic tiles|mobile phones|industrial robots|cough medicine|train carriages|
fishing nets|paper cups|wool blankets|garden tools|electric kettles|printing presses""".replace(
    "\n", "").split("|")
THINGS_KNOWN = """cathedral|old harbour|annual wine festival|university|cheese|textile
mills|botanical gardens|medieval walls|jazz festival|fish market|glass factories|football
club|hot springs|shipyards|painted houses|clock tower""".replace("\n", " ").split("|")
LANDMARKS = """Old Bridge|Stone Tower|Royal Theatre|Harbour Lighthouse|Grand Market Hall|Clock
Tower|Central Library|Cathedral of Saint Anne|Victory Column|Iron Pier""".replace(
    "\n", " ").split("|")
EVENTS = [("fire", "broke out"), ("flood", "struck"), ("storm", "hit"), ("explosion", "occurred"),
          ("landslide", "struck"), ("earthquake", "struck"), ("blackout", "hit"),
          ("train crash", "happened"), ("bridge collapse", "happened"), ("gas leak", "occurred")]
CAUSES = """an electrical fault|a gas leak|heavy rain|a discarded cigarette|a faulty heater|strong
winds|a broken signal|human error|a lightning strike|poor maintenance|a cracked pipe|an
overloaded power line|a burst dam|metal fatigue|a kitchen fire|a failed brake""".replace(
    "\n", " ").split("|")
PLACES_BUILDING = """textile mill|warehouse|shopping centre|hospital|railway station|school|
block of flats|chemical plant|hotel|museum|paper factory|bus depot""".replace(
    "\n", "").split("|")
GROUPS = """Roman soldiers|Viking traders|monks|fishermen|Dutch merchants|a group of
farmers|silver miners|Greek settlers|a local duke|Portuguese sailors""".replace(
    "\n", " ").split("|")
SPORTS = ["football", "rugby", "hockey", "basketball", "cricket", "handball", "volleyball"]
TEAM_SUFFIX = ["United", "Rovers", "City", "Athletic", "Wanderers", "Rangers", "FC", "Albion"]
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
RELATIVES = [("older brother", False), ("younger sister", True), ("uncle", False), ("aunt", True),
             ("father", False), ("mother", True), ("cousin", None), ("old school friend", None),
             ("former teacher", None), ("neighbour", None), ("business partner", None)]
BUSINESSES = ["bakery", "bookshop", "pharmacy", "hardware store", "cafe", "tailor's shop",
              "printing shop", "flower shop", "butcher's shop", "garage", "shipyard", "brewery",
              "sawmill", "boatyard", "hotel", "newspaper"]
RESOURCES = ["herring", "cod", "silver", "timber", "salt", "fertile soil", "copper", "whales",
             "furs", "tin", "wool", "fresh water"]
BRAND_ITEMS = ["water-quality probe", "handheld scanner", "solar lamp", "electric scooter",
               "coffee machine", "weather station", "hearing aid", "drone", "baby monitor",
               "smart meter", "laptop", "pressure sensor", "wheelchair", "fishing sonar"]
AGENCY_FIELDS = ["Banking", "Markets", "Energy", "Food", "Rail", "Aviation", "Insurance", "Health"]
GASES = ["oxygen", "carbon dioxide", "nitrogen", "hydrogen", "methane", "ammonia"]
SUBSTANCES = ["glucose", "starch", "cellulose", "fat", "salt", "protein", "sugar", "iron",
              "calcium", "lactose", "chalk", "silica"]
PARTS = ["chloroplasts", "mitochondria", "root hairs", "the outer membrane", "the nucleus",
         "the inner ear", "the liver", "the gills", "the stem", "the upper layer of the soil",
         "the cell wall", "the lower atmosphere", "the thylakoid membranes", "the bark"]
COLOURS = ["green", "red", "yellow", "blue", "purple", "brown", "orange"]
SYLL_A = ["lum", "kar", "vel", "thal", "or", "ser", "mir", "dor", "pel", "zan", "cor", "fen"]
SYLL_B = ["ine", "ase", "ite", "ophyll", "in", "ene", "ol", "ium", "ose", "ate"]
FINDINGS = ["the disease spread through water",
            "the metal expands when heated", "bees can see ultraviolet light",
            "the comet returns every 76 years", "the bacteria survive without oxygen",
            "sound travels faster in water", "the river carried gold from the hills",
            "the soil lacked nitrogen", "the glacier moved a few metres each year"]
MONTHS = """January February March April May June July August September October November
December""".split()
SMALL_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
               "twelve", "fifteen", "twenty"]
SMALL_VALUES = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20]
FILLERS = """The decision surprised many observers.|Little is known about the early years.|The
reasons for this remain unclear.|Local newspapers covered the story for weeks.|Critics have
described the period as a turning point.|The records from that time are incomplete.|Several
historians have written about these events.|The details were later disputed.|Few people
expected this outcome.|The story is still told in the region today.|Public opinion was
divided.|A full report is expected later this year.|The weather that week was unusually
mild.|Officials promised a detailed review.|Many residents welcomed the news.|The plans were
changed several times.|Work continued despite the difficulties.|Reactions were mixed.|The
topic remains a subject of debate.|Photographs from the period survive in the local
archive.""".replace("\n", " ").split("|")


# ----------------------------------------------------------------------------- values
def _pick(rng: random.Random, pool: Sequence[str]) -> str:
    return pool[rng.randrange(len(pool))]


def person(rng: random.Random, female: Optional[bool] = None) -> Tuple[str, bool]:
    """A made-up full name and whether she is female (for pronouns)."""
    if female is None:
        female = rng.random() < 0.5
    first = _pick(rng, FIRST_F if female else FIRST_M)
    name = f"{first} {_pick(rng, SURNAMES)}"
    if rng.random() < 0.06:
        name = f"{first} {rng.choice(string.ascii_uppercase)}. {_pick(rng, SURNAMES)}"
    return name, female


def city(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return _pick(rng, REAL_CITIES)
    return _pick(rng, CITY_A) + _pick(rng, CITY_B)


def year(rng: random.Random, lo: int = 1850, hi: int = 2023) -> str:
    return str(rng.randint(lo, hi))


def date(rng: random.Random, lo: int = 1850, hi: int = 2023) -> str:
    d, m, y = rng.randint(1, 28), _pick(rng, MONTHS), rng.randint(lo, hi)
    r = rng.random()
    if r < 0.55:
        return f"{d} {m} {y}"
    if r < 0.9:
        return f"{m} {d}, {y}"
    return f"{m} {y}"


def number(rng: random.Random, lo: int, hi: int, words: bool = True) -> str:
    """An integer written as digits (with thousands commas) or, when small, as a word."""
    n = rng.randint(lo, hi)
    if words and rng.random() < 0.3:
        small = [w for w, v in zip(SMALL_WORDS, SMALL_VALUES) if lo <= v <= hi]
        if small:
            return _pick(rng, small)
    if n >= 10000 and rng.random() < 0.5:
        n = round(n, -2)
    return f"{n:,}" if rng.random() < 0.8 else str(n)


def money(rng: random.Random) -> str:
    cur = rng.random()
    amount = rng.choice([f"{rng.randint(2, 950)}", f"{rng.randint(1, 99)}.{rng.randint(1, 9)}"])
    unit = rng.choice(["million", "million", "billion", "thousand"])
    if cur < 0.45:
        return f"${amount} {unit}"
    if cur < 0.6:
        return f"€{amount} {unit}"
    if cur < 0.72:
        return f"£{amount} {unit}"
    if cur < 0.85:
        return f"{amount} {unit} dollars"
    if cur < 0.93:
        return f"{amount} {unit} euros"
    return f"${rng.randint(10, 990)},{rng.randint(0, 999):03d}"


def percent(rng: random.Random) -> str:
    v = rng.randint(3, 97)
    return f"{v}%" if rng.random() < 0.5 else f"{v} percent"


def duration(rng: random.Random) -> str:
    unit = rng.choice(["hours", "days", "weeks", "months", "years"])
    return f"{_pick(rng, SMALL_WORDS)} {unit}" if rng.random() < 0.6 else f"{rng.randint(2, 40)} {unit}"


def org(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return f"{_pick(rng, SURNAMES)} {_pick(rng, INDUSTRIES)}" + (
            f" {_pick(rng, ORG_SUFFIX)}" if rng.random() < 0.6 else "")
    if r < 0.7:
        return f"{_pick(rng, ADJS)} {_pick(rng, NOUNS)} {_pick(rng, INDUSTRIES)}"
    if r < 0.85:
        return f"{city(rng)} {_pick(rng, INDUSTRIES)} {_pick(rng, ORG_SUFFIX)}"
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(2, 4))) + \
        f" {_pick(rng, INDUSTRIES)}"


def university(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.4:
        return f"the University of {city(rng)}"
    if r < 0.6:
        return f"{city(rng)} Technical University"
    if r < 0.8:
        return f"{_pick(rng, SURNAMES)} College"
    return f"the {city(rng)} Institute of {_pick(rng, FIELDS).title()}"


def prize(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.4:
        return f"{_pick(rng, SURNAMES)} Prize"
    if r < 0.6:
        return f"{_pick(rng, SURNAMES)} Medal for {_pick(rng, FIELDS).title()}"
    if r < 0.8:
        return f"Golden {_pick(rng, NOUNS)} Award"
    return f"{city(rng)} Prize for {_pick(rng, FIELDS).title()}"


def book(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.4:
        return f"The {_pick(rng, ADJS)} {_pick(rng, NOUNS)}"
    if r < 0.7:
        return f"{_pick(rng, NOUNS)} of {_pick(rng, NOUNS)}s"
    return f"A History of {_pick(rng, NOUNS)}s"


def bank(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return f"{_pick(rng, CITY_A)}{_pick(rng, CITY_B)} {rng.choice(['Valley', 'River', 'Savings', 'Trust', 'City', 'National'])} Bank"
    if r < 0.8:
        return f"{_pick(rng, SURNAMES)} {rng.choice(['Bank', 'Financial', 'Capital', 'Savings Bank'])}"
    return f"Bank of {city(rng)}"


def agency(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"the {_pick(rng, CITY_A)}{_pick(rng, CITY_B)} {_pick(rng, AGENCY_FIELDS)} Commission"
    return f"the {rng.choice(['National', 'Federal', 'State'])} {_pick(rng, AGENCY_FIELDS)} Authority"


def brand_item(rng: random.Random) -> str:
    brand = rng.choice(["Aqua", "Sol", "Vita", "Nord", "Opti", "Terra", "Lumi", "Echo"]) + \
        rng.choice(["Sense", "Max", "Line", "Star", "Wave", "Core", "Point"])
    return f"the {brand} {rng.randint(1, 9)} {_pick(rng, BRAND_ITEMS)}" if rng.random() < 0.6 else f"the {brand} {_pick(rng, BRAND_ITEMS)}"


def term(rng: random.Random) -> str:
    """A made-up technical word (pigments, enzymes, structures)."""
    w = _pick(rng, SYLL_A) + _pick(rng, SYLL_B)
    return w if rng.random() < 0.8 else w.upper()[:5]


def lender(rng: random.Random) -> str:
    rel, female = RELATIVES[rng.randrange(len(RELATIVES))]
    if female is None:
        female = rng.random() < 0.5
    first = _pick(rng, FIRST_F if female else FIRST_M)
    r = rng.random()
    if r < 0.5:
        return f"{{sp}} {rel} {first}"  # the subject's possessive is filled in by _fact
    if r < 0.8:
        return f"a local banker, {person(rng)[0]}"
    return person(rng)[0]


def business_name(rng: random.Random, owner: str) -> str:
    b = _pick(rng, BUSINESSES)
    r = rng.random()
    if r < 0.5:
        return f"{owner.split()[-1]}'s {b.title()}"
    if r < 0.8:
        return f"The {_pick(rng, ADJS)} {_pick(rng, NOUNS)}"
    return f"{_pick(rng, NOUNS)} {b.title()}"


def team(rng: random.Random) -> str:
    return f"{city(rng)} {_pick(rng, TEAM_SUFFIX)}"


def festival(rng: random.Random) -> str:
    return f"{city(rng)} {rng.choice(['Jazz', 'Film', 'Book', 'Folk', 'Lantern', 'Harvest', 'Kite'])} Festival"


# ----------------------------------------------------------------------------- relations
# A relation has slot names, statement templates and question templates per slot.
# {S} is the subject mention (name, short name or pronoun), {Sp} its possessive form;
# {N} in questions is the subject's full name. Answers are always slot values.
@dataclass
class Relation:
    """A kind of fact: how to draw its values, how to state it, how to ask about it."""
    name: str
    values: Callable[[random.Random], Dict[str, str]]
    statements: List[str]
    questions: Dict[str, List[str]]


def _rel(name: str, values: Callable[[random.Random], Dict[str, str]], statements: str,
         questions: Dict[str, str]) -> Relation:
    return Relation(name, values, [s.strip() for s in statements.split("|")],
                    {k: [q.strip() for q in v.split("|")] for k, v in questions.items()})


PERSON_RELS = [
    _rel("intro", lambda r: {"nat": _pick(r, NATIONALITIES), "job": _pick(r, PROFESSIONS)},
         "{S} was a {nat} {job}.|{S} is a {nat} {job}.|{S} was a well-known {nat} {job}.",
         {"job": "What was {N}'s profession?|What did {N} do for a living?|What was {N}'s occupation?|What kind of work did {N} do?",
          "nat": "What nationality was {N}?|What was {N}'s nationality?"}),
    _rel("born", lambda r: {"date": date(r, 1850, 2000), "city": city(r)},
         "{S} was born on {date} in {city}.|{S} was born in {city} on {date}.|Born in {city} on {date}, {S} was the eldest of four children.|{S} was born in the town of {city} on {date}.",
         {"date": "When was {N} born?|On what date was {N} born?|What is {N}'s date of birth?|What was {N}'s birth date?|When was {N}'s birthday?",
          "city": "Where was {N} born?|In which city was {N} born?|What town was {N} born in?|Which city is {N}'s birthplace?|Where is {N} from?"}),
    _rel("study", lambda r: {"field": _pick(r, FIELDS), "univ": university(r), "year": year(r)},
         "{S} studied {field} at {univ}, graduating in {year}.|After school, {S} went to {univ} to study {field} and graduated in {year}.|In {year}, {S} graduated in {field} from {univ}.",
         {"field": "What did {N} study?|Which subject did {N} study at university?|What did {N} study at {univ}?|What subject did {N} graduate in?",
          "univ": "Where did {N} study?|Which university did {N} attend?|At which university did {N} study {field}?|Where did {N} go to university?",
          "year": "When did {N} graduate?|In what year did {N} graduate from {univ}?|What year did {N} finish university?"}),
    _rel("job", lambda r: {"title": _pick(r, TITLES), "org": org(r), "year": year(r)},
         "In {year}, {S} joined {org} as {title}.|{S} became {title} of {org} in {year}.|{S} worked at {org}, where {s} was appointed {title} in {year}.|From {year}, {S} served as {title} at {org}.",
         {"title": "What position did {N} hold at {org}?|What was {N}'s job at {org}?|What role did {N} have at {org}?|What was {N} appointed in {year}?",
          "org": "Which company did {N} work for?|Where did {N} work as {title}?|What organisation did {N} join in {year}?|For which company did {N} work?",
          "year": "When did {N} become {title}?|In which year did {N} join {org}?|In what year was {N} appointed {title}?"}),
    _rel("prize", lambda r: {"prize": prize(r), "year": year(r), "work": _pick(r, WORKS)},
         "{S} won the {prize} in {year} for {work}.|In {year}, {S} received the {prize} for {work}.|{S} was awarded the {prize} in {year} for {work}.",
         {"prize": "Which prize did {N} win?|What award did {N} receive in {year}?|What prize was {N} awarded?|Which award did {N} win in {year}?",
          "year": "When did {N} win the {prize}?|In what year was {N} awarded the {prize}?|What year did {N} receive the {prize}?",
          "work": "Why did {N} win the {prize}?|What did {N} win the {prize} for?|For what was {N} awarded the {prize}?",
          "S": "Who won the {prize} in {year}?|Who received the {prize}?|Which person was awarded the {prize}?"}),
    _rel("research", lambda r: {"topic": _pick(r, RESEARCH)},
         "{Sp} research focused on {topic}.|{S} spent many years researching {topic}.|{S} is best known for {sp} work on {topic}.|Most of {sp} research was about {topic}.",
         {"topic": "What did {N} research?|What was {N}'s research about?|What is {N} best known for?|What was the focus of {N}'s research?|What subject did {N} research?"}),
    _rel("book", lambda r: {"book": book(r), "year": year(r)},
         "{S} wrote {book}, which was published in {year}.|In {year}, {S} published a book titled {book}.|{Sp} best-known book, {book}, appeared in {year}.",
         {"book": "What book did {N} write?|What is the title of {N}'s book?|What was the name of the book {N} published in {year}?|Which book did {N} publish?",
          "year": "When was {book} published?|In which year did {N} publish {book}?|What year did {book} come out?"}),
    _rel("move", lambda r: {"city": city(r), "year": year(r)},
         "In {year}, {S} moved to {city}.|{S} moved to {city} in {year}.|{S} settled in {city} in {year}.",
         {"city": "Where did {N} move in {year}?|To which city did {N} move?|Where did {N} settle?|What city did {N} move to?",
          "year": "When did {N} move to {city}?|In what year did {N} settle in {city}?"}),
    _rel("died", lambda r: {"date": date(r, 1900, 2023), "city": city(r), "age": str(r.randint(40, 99))},
         "{S} died in {city} on {date} at the age of {age}.|{S} died on {date} in {city}, aged {age}.|{S} died at the age of {age} in {city} on {date}.",
         {"date": "When did {N} die?|On what date did {N} die?|What was the date of {N}'s death?",
          "city": "Where did {N} die?|In which city did {N} die?",
          "age": "How old was {N} when {s} died?|At what age did {N} die?|How old was {N} at death?"}),
    _rel("married", lambda r: {"spouse": person(r)[0], "job2": _pick(r, PROFESSIONS), "year": year(r)},
         "{S} married {spouse}, a {job2}, in {year}.|In {year}, {S} married the {job2} {spouse}.|{S} and {spouse}, a {job2}, were married in {year}.",
         {"spouse": "Who did {N} marry?|Whom did {N} marry in {year}?|Who was {N}'s spouse?|Who was {N} married to?",
          "job2": "What was the profession of {spouse}?|What did {N}'s spouse do for a living?",
          "year": "When did {N} marry {spouse}?|In what year did {N} get married?"}),
    _rel("invented", lambda r: {"inv": _pick(r, INVENTIONS), "year": year(r)},
         "In {year}, {S} invented {inv}.|{S} designed {inv} in {year}.|{S} is credited with inventing {inv} in {year}.",
         {"inv": "What did {N} invent?|What did {N} design in {year}?|What invention is {N} credited with?",
          "year": "When did {N} invent {inv}?|In what year did {N} design {inv}?",
          "S": "Who invented {inv}?|Who designed {inv} in {year}?|Which person is credited with inventing {inv}?"}),
    _rel("children", lambda r: {"n": number(r, 2, 12)},
         "{S} had {n} children.|{S} and {sp} partner raised {n} children.|{S} had {n} children with {sp} partner.",
         {"n": "How many children did {N} have?|How many children did {N} raise?"}),
    _rel("loan", lambda r: {"lender": lender(r), "money": r.choice([f"{r.randint(2, 900)} pounds", money(r), f"{r.randint(2, 90)} dollars"]), "what": r.choice(["a workshop", "the first machines", "a small shop", "a printing press", "the patent"])},
         "{S} borrowed {money} from {lender} to pay for {what}.|To pay for {what}, {S} borrowed {money} from {lender}.|{lender} lent {S} {money}, which paid for {what}.",
         {"lender": "Who gave {N} the loan?|From whom did {N} borrow the money?|Who lent money to {N}?",
          "money": "How much did {N} borrow?|How much money did {N} borrow from {lender}?",
          "what": "What did {N} use the borrowed money for?|What did the loan pay for?"}),
    _rel("patents", lambda r: {"n": number(r, 2, 120), "year": year(r)},
         "By {year}, {S} held {n} patents.|{S} was granted {n} patents in {sp} lifetime.|Over {sp} career {S} registered {n} patents.",
         {"n": "How many patents did {N} hold?|How many patents was {N} granted?|How many patents did {N} register?"}),
    _rel("business", lambda r: {"biz": _pick(r, BUSINESSES), "bname": business_name(r, person(r)[0]), "n": number(r, 2, 60), "city": city(r)},
         "{S} ran a small {biz} called {bname} in {city}, which employed {n} people.|In {city}, {S} owned a {biz}, {bname}, with {n} employees.",
         {"bname": "What was {N}'s {biz} called?|What was the name of the {biz} {N} ran?",
          "n": "How many people worked at {N}'s {biz}?|How many people did {N}'s {biz} employ?",
          "city": "Where was {N}'s {biz}?|In which town did {N} run a {biz}?",
          "biz": "What kind of business did {N} run?|What did {N} own in {city}?"}),
    _rel("waited", lambda r: {"dur": duration(r), "where": r.choice(["a teller", "the front of the queue", "a doctor", "the border", "the ticket office"]), "day": _pick(r, WEEKDAYS)},
         "On {day}, {S} waited {dur} before {s} reached {where}.|{S} had to wait {dur} on {day} to reach {where}.",
         {"dur": "How long did {N} have to wait?|How long did {N} wait on {day}?",
          "day": "On which day did {N} wait {dur}?|What day did {N} have to wait?"}),
    _rel("finding", lambda r: {"finding": _pick(r, FINDINGS), "year": year(r, 1600, 1990)},
         "In {year}, {S} showed that {finding}.|{S} demonstrated in {year} that {finding}.",
         {"S": "Who discovered that {finding}?|Who demonstrated that {finding}?",
          "year": "When did {N} show that {finding}?|In what year did {N} demonstrate that {finding}?"}),
]

def _dividend(r: random.Random) -> Dict[str, str]:
    return {"div": f"{r.randint(2, 95)} cents per share" if r.random() < 0.6 else f"{r.randint(1, 9)}.{r.randint(0, 9)}0 dollars per share"}


ORG_RELS = [
    _rel("chair", lambda r: {"chair": person(r)[0], "next": person(r)[0]},
         "The chairman, {chair}, will retire next year and is expected to be succeeded by {next}.|{chair}, who chairs the board of {S}, is to step down; {next} is likely to replace {chair}.",
         {"chair": "Who is the chairman of {N}?|Who chairs the board of {N}?|Who is stepping down as chairman?",
          "next": "Who is expected to succeed {chair}?|Who will replace {chair} as chairman?"}),
    _rel("dividend", _dividend,
         "{S} will pay a dividend of {div}.|Shareholders will receive a dividend of {div}.",
         {"div": "How large a dividend will {N} pay?|How much will {N} pay its shareholders per share?"}),
    _rel("bestseller", lambda r: {"item": brand_item(r), "year": year(r, 1990, 2024)},
         "{Sp} best-selling product in {year} was {item}.|In {year}, the best-selling product of {S} was {item}.|Sales were led by {item}, {sp} best-selling product.",
         {"item": "Which product sold best for {N}?|Which product of {N} sold best in {year}?"}),
    _rel("order", lambda r: {"buyer": r.choice(["the harbour board of ", "the city council of ", "the army of ", "the railway company of ", "a hospital in "]) + city(r), "n": number(r, 12, 9000, words=False), "items": _pick(r, PRODUCTS), "year": year(r)},
         "In {year}, {buyer} ordered {n} {items} from {S}.|{S} sold {n} {items} to {buyer} in {year}.|{buyer} bought {n} {items} from {S} in {year}.",
         {"n": "How many {items} did {buyer} buy?|How many {items} did {N} sell to {buyer}?|How many {items} were ordered in {year}?",
          "buyer": "Who bought {n} {items} from {N}?|Which customer ordered {n} {items}?|Who ordered {items} from {N} in {year}?"}),
    _rel("newplant", lambda r: {"city": city(r), "money": money(r), "n": number(r, 50, 3000, words=False)},
         "{S} plans a new factory in {city} at a cost of {money}.|A new plant, costing {money}, will open in {city} and employ {n} people.|{Sp} new plant in {city} will cost {money}.",
         {"city": "Where will {N} build its new plant?|In which town will the new plant open?",
          "money": "How much will the new factory cost?|What is the cost of the new plant?"}),
    _rel("shares", lambda r: {"pct": percent(r), "day": _pick(r, WEEKDAYS)},
         "On {day}, {sp} shares fell {pct}.|Shares in {S} dropped by {pct} on {day}.|{Sp} share price fell by {pct} on {day}.",
         {"pct": "How much did the shares of {N} drop?|By what percentage did {N}'s share price fall?",
          "day": "On which day did {N}'s shares fall {pct}?|When did {N}'s shares drop?"}),
    _rel("withdraw", lambda r: {"money": money(r), "day": _pick(r, WEEKDAYS), "who": r.choice(["customers", "savers", "depositors", "investors"])},
         "On {day} alone, {who} withdrew {money} from {S}.|{who} pulled {money} out of {S} on {day}.",
         {"money": "How much did {who} take out of {N} on {day}?|How much was pulled out on {day}?",
          "day": "On what day did {who} withdraw {money}?|When did {who} withdraw {money}?"}),
    _rel("borrow", lambda r: {"money": money(r), "lender": r.choice(["the central bank", "the state treasury", "other banks", "the government", "a group of investors"])},
         "{S} borrowed {money} from {lender}.|To stay open, {S} had to borrow {money} from {lender}.",
         {"money": "How much did {N} borrow from {lender}?|How much money did {N} borrow?",
          "lender": "From whom did {N} borrow {money}?|Who lent {N} {money}?"}),
    _rel("branches", lambda r: {"n": number(r, 3, 900, words=False), "when": year(r, 1990, 2024)},
         "In {when}, {S} had {n} branches.|By {when}, {S} operated {n} branches.",
         {"n": "How many branches did {N} operate?|How many branches did {N} run?"}),
    _rel("supervisor", lambda r: {"agency": agency(r), "cfo": person(r)[0]},
         "{S} is regulated by {agency}.|{S} answers to {agency}, and its finance director is {cfo}.",
         {"agency": "Which regulator oversees {N}?|Who regulates {N}?",
          "cfo": "Who is {N}'s finance director?|Who is the finance director of {N}?"}),
    _rel("founded", lambda r: {"person": person(r)[0], "year": year(r), "city": city(r)},
         "{S} was founded by {person} in {city} in {year}.|{person} founded {S} in {year} in {city}.|In {year}, {person} established {S} in {city}.|{S} was set up in {city} in {year} by {person}.",
         {"person": "Who founded {N}?|Who was the founder of {N}?|Who established {N}?|Which person set up {N}?|Who started {N}?",
          "year": "When was {N} founded?|In what year was {N} established?|What year was {N} founded?|When did {person} found {N}?",
          "city": "Where was {N} founded?|In which city was {N} founded?|In what city did {person} establish {N}?",
          "S": "What company did {person} found?|Which company was founded by {person} in {year}?|What did {person} establish in {year}?"}),
    _rel("hq", lambda r: {"city": city(r), "country": _pick(r, COUNTRIES)},
         "{S} is headquartered in {city}, {country}.|{S} has its headquarters in {city}, {country}.|{Sp} head office is in {city}, {country}.|{S} is based in {city} in {country}.",
         {"city": "Where is {N} headquartered?|Where are {N}'s headquarters?|In which city is {N} based?|Where is {N}'s head office?",
          "country": "In which country is {N} based?|What country is {N} headquartered in?"}),
    _rel("employees", lambda r: {"n": number(r, 20, 90000, words=False)},
         "{S} employs about {n} people.|{S} has {n} employees.|{S} has a workforce of {n}.|Around {n} people work for {S}.",
         {"n": "How many people does {N} employ?|How many employees does {N} have?|How many people work for {N}?|How large is {N}'s workforce?"}),
    _rel("revenue", lambda r: {"money": money(r), "year": year(r, 1990, 2023)},
         "In {year}, {S} reported revenue of {money}.|{Sp} revenue reached {money} in {year}.|{S} earned {money} in {year}.",
         {"money": "What was {N}'s revenue in {year}?|How much revenue did {N} report in {year}?|How much money did {N} earn in {year}?|How much did {N} make in {year}?",
          "year": "In which year did {N} report revenue of {money}?|When did {N}'s revenue reach {money}?"}),
    _rel("product", lambda r: {"product": _pick(r, PRODUCTS)},
         "{S} makes {product}.|{S} is best known for its {product}.|{Sp} main product is {product}.|{S} produces {product}.|{S} manufactures {product} for customers in many countries.",
         {"product": "What does {N} make?|What does {N} produce?|What is {N}'s main product?|What is {N} best known for?|What does {N} manufacture?"}),
    _rel("ceo", lambda r: {"person": person(r)[0], "year": year(r, 1980, 2023)},
         "{person} has been the chief executive of {S} since {year}.|Since {year}, {S} has been led by {person}.|{person} became chief executive of {S} in {year}.",
         {"person": "Who is the chief executive of {N}?|Who leads {N}?|Who runs {N}?|Who is the CEO of {N}?|Who became chief executive of {N} in {year}?",
          "year": "Since when has {person} led {N}?|When did {person} become chief executive of {N}?|In what year did {person} take over {N}?"}),
    _rel("acquired", lambda r: {"org2": org(r), "money": money(r), "year": year(r, 1950, 2023)},
         "In {year}, {S} bought {org2} for {money}.|{S} acquired {org2} in {year} for {money}.|{S} took over its rival {org2} in {year}, paying {money}.",
         {"org2": "Which company did {N} acquire?|What company did {N} buy in {year}?|Which rival did {N} take over?",
          "money": "How much did {N} pay for {org2}?|For how much did {N} buy {org2}?|What was the price of {org2}?",
          "year": "When did {N} acquire {org2}?|In which year did {N} buy {org2}?"}),
    _rel("factory", lambda r: {"city": city(r), "year": year(r), "n": number(r, 50, 5000, words=False)},
         "In {year}, {S} opened a factory in {city} that employed {n} workers.|{S} opened a new plant in {city} in {year}, creating {n} jobs.",
         {"city": "Where did {N} open a factory?|In which city did {N} open a new plant?",
          "year": "When did {N} open its factory in {city}?|In what year did {N} open a plant in {city}?",
          "n": "How many workers did the factory in {city} employ?|How many jobs did the new plant create?"}),
]

CITY_RELS = [
    _rel("settled", lambda r: {"group": _pick(r, GROUPS), "leader": person(r)[0], "res": _pick(r, RESOURCES), "year": year(r, 1500, 1900)},
         "In {year}, {group} under {leader} arrived, attracted by the {res}.|{group}, with {leader} at their head, reached the area in {year} in search of {res}.",
         {"year": "In what year did {group} arrive?|When did {leader} arrive?",
          "leader": "Who was the leader of the {group}?|Who headed the {group}?",
          "res": "What attracted {group} to the area?|What were the {group} looking for?"}),
    _rel("opened", lambda r: {"who": person(r)[0], "biz": _pick(r, BUSINESSES), "year": year(r, 1700, 2000), "spot": r.choice(["near the harbour", "on the main square", "by the railway station", "on the old market street", "outside the walls"])},
         "In {year}, {who} opened a {biz} {spot}.|{who} opened the town's first {biz} {spot} in {year}.",
         {"who": "Who opened a {biz} {spot}?|Who opened the first {biz} in {N}?",
          "year": "When did {who} open the {biz}?|In what year was the {biz} opened?"}),
    _rel("railway", lambda r: {"year": year(r, 1830, 1950), "n": number(r, 2, 40)},
         "The first trains arrived in {S} in {year}.|In {year}, a tramway line opened in {S}, and within a decade {n} hotels had been built.",
         {"year": "When did the first trains arrive in {N}?|In what year did the tramway open?",
          "n": "How many hotels were built within a decade?"}),
    _rel("twin", lambda r: {"twin": city(r), "country": _pick(r, COUNTRIES)},
         "{S} is twinned with {twin} in {country}.|Since 1990, {S} has been twinned with the {country} town of {twin}.",
         {"twin": "What is {N}'s twin town?|{N} has a partnership with which town?"}),
    _rel("disaster", lambda r: {"ev": f"a {r.choice(['fire', 'flood', 'storm', 'gale'])} in {year(r, 1700, 1990)}", "what": r.choice(["the old market hall", "the wooden church", "the harbour wall", "the first school", "most of the fishing fleet"])},
         "{what} was lost in {ev}.|In {S}, {ev} ruined {what}.",
         {"ev": "What ruined {what}?|How was {what} lost?",
          "what": "What was lost in {ev}?"}),
    _rel("tower", lambda r: {"h": f"{number(r, 8, 90, words=False)} metres", "arch": person(r)[0], "t": r.choice(["water tower", "bell tower", "radio mast", "town hall"])},
         "The {t}, planned by {arch}, rises {h} above the square.|At {h}, the {t} by {arch} is the tallest building in {S}.",
         {"h": "How high is the {t} in {N}?|What is the height of the {t}?",
          "arch": "Who planned the {t}?|Which architect built the {t}?"}),
    _rel("population", lambda r: {"n": number(r, 2000, 3000000, words=False), "year": year(r, 1950, 2023)},
         "{S} has a population of about {n}.|According to the {year} census, {S} had {n} inhabitants.|About {n} people live in {S}.|In {year}, {Sp} population was {n}.",
         {"n": "What is the population of {N}?|How many people live in {N}?|How many inhabitants does {N} have?|What was the population of {N} in {year}?"}),
    _rel("location", lambda r: {"region": _pick(r, REGIONS), "river": _pick(r, RIVERS), "country": _pick(r, COUNTRIES)},
         "{S} is a city in {region} of {country}, on the {river} River.|{S} lies in {region} of {country} on the banks of the {river}.|Located on the {river} River, {S} is the largest town in {region} of {country}.",
         {"river": "Which river does {N} lie on?|On which river is {N} located?|What river runs through {N}?|What is the name of the river in {N}?",
          "country": "In which country is {N}?|What country is {N} in?|Which country is {N} located in?",
          "region": "In which part of {country} is {N}?|Where in {country} is {N} located?"}),
    _rel("founded", lambda r: {"year": year(r, 800, 1900), "group": _pick(r, GROUPS)},
         "{S} was founded in {year} by {group}.|{group} founded {S} in {year}.|The town was established by {group} in {year}.",
         {"year": "When was {N} founded?|In what year was {N} established?|How old is {N}?",
          "group": "Who founded {N}?|Who established {N}?|By whom was {N} founded?"}),
    _rel("known", lambda r: {"thing": _pick(r, THINGS_KNOWN)},
         "{S} is known for its {thing}.|{S} is famous for its {thing}.|Visitors come to {S} mainly for its {thing}.",
         {"thing": "What is {N} known for?|What is {N} famous for?|Why do visitors come to {N}?"}),
    _rel("mayor", lambda r: {"person": person(r)[0], "year": year(r, 1990, 2023)},
         "The current mayor of {S} is {person}, who was elected in {year}.|{person} has been mayor of {S} since {year}.|In {year}, {person} was elected mayor of {S}.",
         {"person": "Who is the mayor of {N}?|Who was elected mayor of {N} in {year}?|Who leads the city of {N}?",
          "year": "When was {person} elected mayor?|Since when has {person} been mayor of {N}?"}),
    _rel("area", lambda r: {"area": f"{number(r, 12, 900, words=False)} square kilometres", "alt": f"{number(r, 5, 2400, words=False)} metres"},
         "{S} covers an area of {area} and lies at an altitude of {alt}.|The city covers {area} at an elevation of {alt} above sea level.",
         {"area": "How large is {N}?|What area does {N} cover?|What is the area of {N}?",
          "alt": "At what altitude is {N}?|How high above sea level is {N}?|What is the elevation of {N}?"}),
    _rel("landmark", lambda r: {"lm": _pick(r, LANDMARKS), "year": year(r, 1100, 1990), "arch": person(r)[0]},
         "{Sp} best-known landmark is the {lm}, built in {year} to a design by {arch}.|The {lm}, designed by {arch} and completed in {year}, is the symbol of {S}.",
         {"lm": "What is the best-known landmark in {N}?|What is the symbol of {N}?|Which building is {N}'s most famous landmark?",
          "year": "When was the {lm} built?|In what year was the {lm} completed?",
          "arch": "Who designed the {lm}?|Which architect designed the {lm}?"}),
]


def process(rng: random.Random) -> str:
    """A process name for encyclopedic paragraphs, real word or made up."""
    r = rng.random()
    if r < 0.3:
        return f"the {_pick(rng, SURNAMES)} cycle"
    if r < 0.5:
        return f"{term(rng)} fixation"
    return rng.choice(["fermentation", "respiration", "digestion", "erosion", "condensation",
                       "pollination", "nitrogen fixation", "sedimentation", "germination",
                       "oxidation", "weathering", "calcification", "decomposition"])


ORGANS = ["leaves", "roots", "skin", "gills", "wings", "shell", "stems", "lungs", "petals"]

SCIENCE_RELS = [
    _rel("where", lambda r: {"part": _pick(r, PARTS)},
         "{S} takes place in {part}.|{S} happens mainly in {part}.|Most of {sp} steps happen in {part}.|In living things, {S} takes place inside {part}.",
         {"part": "Where does {N} take place?|Where does {N} happen?|In what part does {N} happen?"}),
    _rel("pigment", lambda r: {"pig": term(r), "part": _pick(r, PARTS), "col": _pick(r, COLOURS)},
         "{part} contain a pigment called {pig}, which makes them {col}.|The {col} colour of {part} comes from a pigment called {pig}.",
         {"pig": "What is the pigment in {part} called?|Which pigment gives {part} their colour?",
          "col": "What colour does {pig} make {part}?|What colour are {part}?"}),
    _rel("pores", lambda r: {"organ": _pick(r, ORGANS), "pores": term(r), "gas": _pick(r, GASES)},
         "Small openings in the {organ}, known as {pores}, let {gas} in.|{gas} enters through openings in the {organ} known as {pores}.",
         {"pores": "What are the openings in the {organ} called?|What name is given to the openings in the {organ}?",
          "gas": "What gas enters through the {pores}?|What do the {pores} let in?"}),
    _rel("stages", lambda r: {"st1": f"{term(r)} stage" if r.random() < 0.5 else f"the {_pick(r, ADJS).lower()} reactions", "st2": f"the {_pick(r, SURNAMES)} cycle"},
         "{S} begins with {st1} and ends with {st2}.|{S} has two stages: {st1}, followed by {st2}.",
         {"st1": "How does {N} begin?|What comes first in {N}?",
          "st2": "How does {N} end?|What follows {st1}?"}),
    _rel("enzyme", lambda r: {"enz": term(r), "gas": _pick(r, GASES), "sub": _pick(r, SUBSTANCES)},
         "An enzyme called {enz} breaks {sub} down, freeing {gas}.|During {S}, the enzyme {enz} splits {sub}, and {gas} is freed.",
         {"enz": "Which enzyme breaks down {sub}?|What enzyme splits {sub}?",
          "sub": "What does {enz} break down?"}),
    _rel("byproduct", lambda r: {"gas": _pick(r, GASES), "sub": _pick(r, SUBSTANCES)},
         "{S} produces {gas} as a by-product.|{gas} is a by-product of {S}.",
         {"gas": "What gas does {N} produce?|What is a by-product of {N}?"}),
    _rel("worked", lambda r: {"who": person(r)[0], "year": year(r, 1700, 1990), "prize": prize(r)},
         "{S} was first described by {who} in {year}.|{who} first explained {S} in {year} and later received the {prize}.",
         {"who": "Who first described {N}?|Who first explained {N}?",
          "year": "When was {N} first described?|In what year did {who} explain {N}?"}),
    _rel("tubes", lambda r: {"sub": r.choice(["water", "sap", "sugar", "blood", "air"]), "tubes": term(r), "part": _pick(r, ORGANS)},
         "{sub} is carried from the {part} by vessels called the {tubes}.|Vessels known as the {tubes} carry {sub} from the {part}.",
         {"tubes": "What are the vessels that carry {sub} called?|Which vessels carry {sub}?",
          "part": "Where does {sub} come from?"}),
]


def _event_values(r: random.Random) -> Dict[str, str]:
    return {"date": date(r, 1950, 2023), "bld": _pick(r, PLACES_BUILDING), "cause": _pick(r, CAUSES),
            "dead": number(r, 2, 90), "hurt": number(r, 3, 400), "dmg": money(r), "crew": number(r, 10, 300),
            "dur": duration(r), "off": person(r)[0], "otitle": _pick(r, PUBLIC_TITLES), "evac": number(r, 40, 9000, words=False)}


EVENT_RELS = [
    _rel("when", lambda r: {"date": date(r, 1950, 2023), "bld": _pick(r, PLACES_BUILDING)},
         "On {date}, {a} {S} {verb} at a {bld} in {C}.|{A} {S} {verb} at a {bld} in {C} on {date}.|The {S} at the {bld} in {C} began on the morning of {date}.",
         {"date": "When did the {S} happen?|On what date did the {S} occur?|When did the {S} in {C} begin?|What day did the {S} happen?",
          "bld": "Where did the {S} start?|What kind of building was the {S} at?|Where in {C} did the {S} happen?",
          "C": "In which city did the {S} happen?|Where did the {S} take place?|Which city was hit by the {S}?"}),
    _rel("cause", lambda r: {"cause": _pick(r, CAUSES)},
         "Investigators said the {S} was caused by {cause}.|The {S} was caused by {cause}.|Officials blamed {cause} for the {S}.|According to the police, {cause} led to the {S}.|An inquiry found that {cause} was to blame.",
         {"cause": "What caused the {S}?|What was the cause of the {S}?|Why did the {S} happen?|What did officials blame for the {S}?|What led to the {S}?"}),
    _rel("casualties", lambda r: {"dead": number(r, 2, 90), "hurt": number(r, 3, 400)},
         "{dead} people were killed and {hurt} were injured.|The {S} killed {dead} people and injured {hurt} others.|At least {dead} people died, and {hurt} were taken to hospital.",
         {"dead": "How many people were killed?|How many people died in the {S}?|How many deaths did the {S} cause?|How many people were killed in the {S}?",
          "hurt": "How many people were injured?|How many people were hurt in the {S}?|How many people were taken to hospital?"}),
    _rel("damage", lambda r: {"dmg": money(r)},
         "The damage was estimated at {dmg}.|Insurers put the cost of the damage at {dmg}.|Repairs are expected to cost {dmg}.",
         {"dmg": "How much damage did the {S} cause?|What was the estimated cost of the damage?|How much will the repairs cost?|How much did the {S} cost?"}),
    _rel("crews", lambda r: {"crew": number(r, 10, 300), "dur": duration(r)},
         "More than {crew} rescue workers were at the scene for {dur}.|Some {crew} emergency workers spent {dur} at the site.|It took {crew} firefighters {dur} to bring the situation under control.",
         {"crew": "How many rescue workers were at the scene?|How many emergency workers were sent?|How many firefighters were needed?",
          "dur": "How long did the rescue workers stay?|How long did it take to bring the situation under control?|For how long were workers at the scene?"}),
    _rel("official", lambda r: {"off": person(r)[0], "otitle": _pick(r, PUBLIC_TITLES)},
         "{off}, the {otitle} of {C}, called it a tragedy.|\"This is a sad day,\" said {off}, the {otitle} of {C}.|The {otitle} of {C}, {off}, promised an investigation.",
         {"off": "Who is the {otitle} of {C}?|Who called the {S} a tragedy?|Who promised an investigation?|Which official spoke about the {S}?",
          "otitle": "What is {off}'s position?|What is {off}'s job?|What office does {off} hold?"}),
    _rel("evacuated", lambda r: {"evac": number(r, 40, 9000, words=False)},
         "About {evac} residents were evacuated from nearby homes.|Police evacuated {evac} people from the area.",
         {"evac": "How many people were evacuated?|How many residents had to leave their homes?"}),
]

# Whole-paragraph stories with fixed slots, asked about directly (no subject coreference).
STORY_RELS = [
    _rel("election", lambda r: {"p1": person(r)[0], "p2": person(r)[0], "pct": percent(r), "year": year(r, 1950, 2023), "C": city(r), "party": f"{_pick(r, ADJS)} Party"},
         "{p1} won the {year} mayoral election in {C} with {pct} of the vote, defeating {p2}.|In the {year} election for mayor of {C}, {p1} of the {party} beat {p2}, taking {pct} of the vote.",
         {"p1": "Who won the {year} election in {C}?|Who was elected mayor of {C} in {year}?|Who won the mayoral election?",
          "p2": "Who did {p1} defeat?|Who lost the {year} election in {C}?|Who was defeated in the election?",
          "pct": "What share of the vote did {p1} win?|What percentage of the vote did {p1} get?|How much of the vote did {p1} receive?"}),
    _rel("final", lambda r: {"t1": team(r), "t2": team(r), "sc": f"{r.randint(1, 5)}-{r.randint(0, 4)}" if r.random() < .6 else f"{r.randint(1, 5)}–{r.randint(0, 4)}", "date": date(r, 1950, 2023), "sport": _pick(r, SPORTS), "crowd": number(r, 2000, 90000, words=False), "hero": person(r)[0]},
         "{t1} beat {t2} {sc} in the {sport} cup final on {date}, in front of {crowd} spectators. {hero} scored the winning goal.|On {date}, {t1} won the {sport} cup, defeating {t2} {sc} before a crowd of {crowd}. The decisive goal came from {hero}.",
         {"t1": "Who won the cup final?|Which team won the {sport} cup?|Which team beat {t2}?",
          "t2": "Which team lost the final?|Who did {t1} beat in the final?|Who was defeated in the {sport} cup final?",
          "sc": "What was the score of the final?|What was the final score?|By what score did {t1} win?",
          "date": "When was the final played?|On what date did {t1} win the cup?",
          "crowd": "How many spectators watched the final?|How many people attended the final?|How big was the crowd?",
          "hero": "Who scored the winning goal?|Who scored the decisive goal?"}),
    _rel("festival", lambda r: {"fest": festival(r), "month": _pick(r, MONTHS), "n": number(r, 500, 400000, words=False), "year": year(r, 1900, 2015), "founder": person(r)[0]},
         "The {fest} is held every {month} and attracts about {n} visitors. It was first organised in {year} by {founder}.|Every {month}, the {fest} draws some {n} visitors. {founder} started it in {year}.",
         {"month": "When is the {fest} held?|In which month is the {fest} held?|What month does the {fest} take place?",
          "n": "How many visitors does the {fest} attract?|How many people visit the {fest}?",
          "year": "When was the {fest} first organised?|In what year did the {fest} start?",
          "founder": "Who started the {fest}?|Who founded the {fest}?|Who first organised the {fest}?"}),
    _rel("bridge", lambda r: {"br": f"{_pick(r, SURNAMES)} Bridge", "arch": person(r)[0], "y1": year(r, 1850, 2015), "dur": duration(r), "cost": money(r), "len": f"{number(r, 80, 4000, words=False)} metres", "river": _pick(r, RIVERS)},
         "Construction of the {br} over the {river} River began in {y1} and took {dur}. The bridge, designed by {arch}, is {len} long and cost {cost}.|The {br}, which crosses the {river}, was designed by {arch}. Work started in {y1}, lasted {dur} and cost {cost}; the finished bridge is {len} long.",
         {"arch": "Who designed the {br}?|Which engineer designed the {br}?|Who was the designer of the {br}?",
          "y1": "When did construction of the {br} begin?|In what year did work on the {br} start?",
          "dur": "How long did construction take?|How long did it take to build the {br}?",
          "cost": "How much did the {br} cost?|What did the {br} cost to build?",
          "len": "How long is the {br}?|What is the length of the {br}?",
          "river": "Which river does the {br} cross?|What river does the {br} span?"}),
    _rel("treaty", lambda r: {"tr": f"Treaty of {city(r)}", "c1": _pick(r, COUNTRIES), "c2": _pick(r, COUNTRIES), "date": date(r, 1600, 2020), "what": r.choice(["ended a long border war", "set fishing limits", "opened the ports to trade", "fixed the border along the river", "created a customs union"])},
         "The {tr} was signed on {date} by {c1} and {c2}. The agreement {what}.|On {date}, {c1} and {c2} signed the {tr}, which {what}.",
         {"date": "When was the {tr} signed?|On what date was the {tr} signed?",
          "c1": "Which country signed the {tr} with {c2}?|Who signed the {tr} with {c2}?",
          "c2": "Which country signed the {tr} with {c1}?|With which country did {c1} sign the {tr}?",
          "what": "What did the {tr} do?|What did the agreement do?"}),
    _rel("expedition", lambda r: {"ex": person(r)[0], "place": r.choice(["the summit of Mount " + _pick(r, SURNAMES), "the source of the " + _pick(r, RIVERS), "the island of " + _pick(r, NOUNS) + " Rock", "the northern ice cap"]), "year": year(r, 1800, 1990), "days": number(r, 5, 400, words=False), "n": number(r, 2, 40)},
         "In {year}, the explorer {ex} reached {place} after a journey of {days} days with {n} companions.|{ex} led a team of {n} people to {place} in {year}; the trip took {days} days.",
         {"ex": "Who reached {place}?|Which explorer reached {place} in {year}?|Who led the expedition?",
          "place": "Where did {ex} go in {year}?|What did {ex} reach in {year}?",
          "year": "When did {ex} reach {place}?|In what year did the expedition take place?",
          "days": "How many days did the journey take?|How long was {ex}'s journey?",
          "n": "How many companions did {ex} have?|How many people were in the team?"}),
]


# ----------------------------------------------------------------------------- rendering
def _render(template: str, values: Dict[str, str]) -> Tuple[str, Dict[str, Tuple[int, int]]]:
    """Fill a template and record where every slot value landed (first occurrence)."""
    out: List[str] = []
    spans: Dict[str, Tuple[int, int]] = {}
    pos = 0
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        pos += len(literal)
        if field is None:
            continue
        value = values[field]
        spans.setdefault(field, (pos, pos + len(value)))
        out.append(value)
        pos += len(value)
    return "".join(out), spans


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass
class Fact:
    """One rendered sentence and the questions it can answer (question, slot)."""
    sentence: str
    spans: Dict[str, Tuple[int, int]]
    questions: List[Tuple[str, str]]


def _fact(rng: random.Random, rel: Relation, subj: Dict[str, str], full_subject: bool,
          extra: Optional[Dict[str, str]] = None) -> Fact:
    """Render one relation about a subject; subj holds S/Sp/s/sp mentions and N (full name)."""
    values = {k: v.replace("{sp}", subj.get("sp", "its")) for k, v in rel.values(rng).items()}
    values.update(extra or {})
    template = _pick(rng, rel.statements)
    mention = dict(subj)
    if full_subject:
        mention["S"], mention["Sp"] = subj["N"], subj["N"] + "'s"
    filled = dict(values, **mention)
    sentence, spans = _render(template, filled)
    sentence = _cap(sentence)
    qs: List[Tuple[str, str]] = []
    for slot, templates in rel.questions.items():
        if slot not in spans:
            continue
        if slot == "S" and not full_subject:
            continue
        q = _pick(rng, templates)
        qfill = dict(values, **subj)
        qfill["S"] = subj.get("Q", subj["N"])  # events are asked about by their noun
        qs.append((string.Formatter().vformat(q, (), qfill), slot))
    return Fact(sentence, spans, qs)


def _subject_person(rng: random.Random) -> Dict[str, str]:
    name, female = person(rng)
    return {"N": name, "short": name.split()[-1], "pron": "she" if female else "he",
            "poss": "her" if female else "his", "s": "she" if female else "he",
            "sp": "her" if female else "his"}


def _mentions(rng: random.Random, subj: Dict[str, str], first: bool) -> Dict[str, str]:
    """How the subject is named in one sentence: full name first, then name/short/pronoun."""
    r = rng.random()
    if first or r < 0.3:
        s = subj["N"]
        return dict(subj, S=s, Sp=s + "'s")
    if r < 0.55 and "short" in subj:
        return dict(subj, S=subj["short"], Sp=subj["short"] + "'s")
    return dict(subj, S=subj["pron"], Sp=subj["poss"])


def _topic(rng: random.Random, kind: str) -> Tuple[List[Relation], Dict[str, str], Callable[[], Dict[str, str]]]:
    """Relations, subject mentions and a maker of distractor subjects for one paragraph kind."""
    if kind == "person":
        return PERSON_RELS, _subject_person(rng), lambda: _subject_person(rng)
    if kind == "org":
        def mk() -> Dict[str, str]:
            n = org(rng) if rng.random() < 0.7 else bank(rng)
            return {"N": n, "pron": rng.choice(["the company", "the firm"]), "poss": "its",
                    "s": "it", "sp": "its"}
        return ORG_RELS, mk(), mk
    if kind == "city":
        def mkc() -> Dict[str, str]:
            n = city(rng)
            return {"N": n, "pron": rng.choice(["the city", "the town"]), "poss": "its", "s": "it", "sp": "its"}
        return CITY_RELS, mkc(), mkc
    def mke() -> Dict[str, str]:
        ev, verb = _pick(rng, EVENTS)
        c = city(rng)
        return {"N": ev, "Q": ev, "pron": ev, "poss": "the " + ev + "'s", "s": "it", "sp": "its",
                "verb": verb, "C": c, "a": "an" if ev[0] in "aeiou" else "a", "A": "An" if ev[0] in "aeiou" else "A"}
    if kind == "science":
        def mks() -> Dict[str, str]:
            n = process(rng)
            return {"N": n, "pron": "the process", "poss": "its", "s": "it", "sp": "its"}
        return SCIENCE_RELS, mks(), mks
    return EVENT_RELS, mke(), mke


@dataclass
class QAExample:
    """One SQuAD-style example: the answer is context[answer_start:answer_start+len(answer)]."""
    id: str
    title: str
    context: str
    question: str
    answer: str
    answer_start: int


def _paragraph(rng: random.Random, kind: str, erng: Optional[random.Random] = None,
               embellish: float = 0.0) -> Tuple[str, List[Tuple[str, str, int]]]:
    """One paragraph and its (question, answer, start) triples."""
    facts: List[Fact] = []
    if kind == "story":
        rel = _pick(rng, STORY_RELS)
        values = rel.values(rng)
        sentence, spans = _render(_pick(rng, rel.statements), values)
        qs = [(string.Formatter().vformat(_pick(rng, t), (), values), s) for s, t in rel.questions.items()]
        facts.append(Fact(sentence, spans, qs))
        for _ in range(rng.randint(0, 2)):  # a distractor story of the same kind
            v2 = rel.values(rng)
            s2, sp2 = _render(_pick(rng, rel.statements), v2)
            facts.append(Fact(s2, sp2, []))
    else:
        rels, subj, other = _topic(rng, kind)
        chosen = rng.sample(rels, k=min(len(rels), rng.randint(2, 5)))
        if kind == "event":
            chosen = [rels[0]] + [r for r in chosen if r is not rels[0]]
        for i, rel in enumerate(chosen):
            m = _mentions(rng, subj, first=(i == 0))
            full = m["S"] == subj["N"] and kind != "event"
            facts.append(_fact(rng, rel, m, full_subject=full))
        for _ in range(rng.choice([0, 1, 1, 2])):  # distractors: same relation, another subject
            if kind == "event":  # another kind of event elsewhere, stated with its own noun
                o = other()
                if o["N"] == subj["N"]:
                    continue
                f = _fact(rng, rels[0], dict(o, S=o["N"], Sp=o["poss"]), full_subject=False)
                f.questions = [(q, s) for q, s in f.questions if s != "C"] if rng.random() < 0.25 else []
            else:
                rel = _pick(rng, chosen)
                o = other()
                f = _fact(rng, rel, dict(o, S=o["N"], Sp=o["N"] + "'s"), full_subject=True)
                f.questions = f.questions if rng.random() < 0.25 else []
            facts.append(f)
    keep_first = facts[:1] if rng.random() < 0.7 else []
    rest = facts[len(keep_first):]
    rng.shuffle(rest)
    facts = keep_first + rest
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        facts.insert(rng.randint(1, len(facts)), Fact(_pick(rng, FILLERS), {}, []))
    if erng is not None and embellish > 0:
        facts = [_embellish(erng, f, embellish, kind) for f in facts]
        for i in range(1, len(facts)):  # now and then join two sentences into one
            prev, cur = facts[i - 1], facts[i]
            if prev.sentence.endswith(".") and erng.random() < 0.25 * embellish:
                facts[i - 1] = Fact(prev.sentence[:-1] + erng.choice([";", ", and", ", while"]), prev.spans, prev.questions)
                facts[i] = Fact(_lower_first(cur.sentence), cur.spans, cur.questions)
    context_parts: List[str] = []
    triples: List[Tuple[str, str, int]] = []
    offset = 0
    for f in facts:
        for question, slot in f.questions:
            a, b = f.spans[slot]
            triples.append((question, f.sentence[a:b], offset + a))
        context_parts.append(f.sentence)
        offset += len(f.sentence) + 1
    return " ".join(context_parts), triples


OPENERS = ["According to the records, ", "At the time, ", "Later, ", "By then, ", "As a result, ",
           "Reports say that ", "It is said that ", "Meanwhile, ", "Some years later, ", "In the end, ",
           "Local historians note that ", "By most accounts, ", "Officials said that ", "Notably, "]
CLOSERS = [", according to local records", ", a fact that surprised many", ", as newspapers reported at the time",
           ", which was unusual then", " after a long delay", ", officials said", " despite some opposition",
           ", according to a company statement", ", as expected"]
LOWERABLE = {"The", "It", "She", "He", "Its", "Her", "His", "A", "An", "In", "On", "At", "By", "From",
             "After", "Since", "Every", "Some", "More", "Around", "About", "Most", "Sales", "Small",
             "Vessels", "Construction", "Shareholders", "Insurers", "Investigators", "Officials", "Work",
             "Police", "To", "During", "Tubes", "Over", "Drawn", "Located", "Born"}


def _lower_first(sentence: str) -> str:
    first = sentence.split(" ", 1)[0]
    return sentence[:1].lower() + sentence[1:] if first in LOWERABLE else sentence


def _insert(f: Fact, pos: int, text: str) -> Fact:
    """Insert text at pos, shifting the slot spans that start at or after it."""
    spans = {k: ((a + len(text), b + len(text)) if a >= pos else (a, b)) for k, (a, b) in f.spans.items()}
    return Fact(f.sentence[:pos] + text + f.sentence[pos:], spans, f.questions)


def _embellish(erng: random.Random, f: Fact, p: float, kind: str) -> Fact:
    """Longer, news-like sentences: an opener, an appositive after a full name, a closing clause."""
    if not f.spans or p <= 0:
        return f
    if erng.random() < 0.5 * p and "S" in f.spans and kind == "person":
        a, b = f.spans["S"]
        if " " in f.sentence[a:b] and f.sentence[b:b + 1] == " ":
            desc = erng.choice([f"a {_pick(erng, NATIONALITIES)} {_pick(erng, PROFESSIONS)}",
                                f"then aged {erng.randint(19, 80)}", f"the {_pick(erng, PROFESSIONS)}",
                                f"who was born in {city(erng)}"])
            f = _insert(f, b, f", {desc},")
    if erng.random() < 0.3 * p and f.sentence.endswith("."):
        f = _insert(f, len(f.sentence) - 1, _pick(erng, CLOSERS))
    if erng.random() < 0.4 * p:
        lowered = _lower_first(f.sentence)
        f = _insert(Fact(lowered, f.spans, f.questions), 0, _pick(erng, OPENERS))
    return f


KINDS = ["person"] * 3 + ["org"] * 3 + ["city"] * 2 + ["event"] * 2 + ["story"] * 2 + ["science"] * 2


def _tweak_question(rng: random.Random, q: str) -> str:
    """Light surface variety: a missing question mark or a lowercase start, now and then."""
    r = rng.random()
    if r < 0.05:
        return q.rstrip("?")
    if r < 0.08:
        return q[:1].lower() + q[1:]
    return q


def generate(n: int, seed: int = 0, max_per_context: int = 3, embellish: float = 0.0,
             extra_paragraphs: Optional[Tuple[int, int]] = None) -> List[QAExample]:
    """Generate n examples; the same (n, seed, embellish, extra_paragraphs) always gives the same list.

    embellish (0..1) adds openers, appositives, closing clauses and joined sentences, drawn from a
    second random stream so that embellish=0 gives exactly the plain examples of the same seed.
    extra_paragraphs=(lo, hi) joins lo..hi more paragraphs to every context: long documents whose
    other paragraphs are distractors of the same kinds (default: 0-2, mostly 0).
    """
    rng = random.Random(seed)
    erng = random.Random(seed * 7919 + 1)
    out: List[QAExample] = []
    p = 0
    while len(out) < n:
        kind = _pick(rng, KINDS)
        context, triples = _paragraph(rng, kind, erng, embellish)
        if extra_paragraphs is None:
            extra = 1 if rng.random() < 0.25 else 0
            extra += 1 if extra and rng.random() < 0.35 else 0
        else:
            extra = rng.randint(*extra_paragraphs)
        for _ in range(extra):  # several paragraphs in one context: longer texts, more distractors
            c2, t2 = _paragraph(rng, _pick(rng, KINDS), erng, embellish)
            shift = len(context) + 1
            context = context + " " + c2
            triples += [(q, a, s + shift) for q, a, s in t2]
        rng.shuffle(triples)
        seen = set()
        for question, answer, start in triples[:max_per_context]:
            if question in seen or len(out) >= n:
                continue
            seen.add(question)
            out.append(QAExample(f"gen-{seed}-{len(out)}", f"{kind}-{p}", context,
                                 _tweak_question(rng, question), answer, start))
        p += 1
    return out


def iter_squad(examples: Sequence[QAExample]) -> Iterator[Dict[str, object]]:
    """Group examples by context into SQuAD v1.1 paragraphs."""
    by_ctx: Dict[str, Dict[str, object]] = {}
    for ex in examples:
        para = by_ctx.setdefault(ex.context, {"context": ex.context, "qas": []})
        para["qas"].append({"id": ex.id, "question": ex.question,  # type: ignore[union-attr]
                            "answers": [{"text": ex.answer, "answer_start": ex.answer_start}]})
    yield from by_ctx.values()


def to_squad(examples: Sequence[QAExample], title: str = "generated") -> Dict[str, object]:
    """SQuAD v1.1 JSON structure, so any SQuAD evaluator can read generated sets."""
    return {"version": "1.1", "data": [{"title": title, "paragraphs": list(iter_squad(examples))}]}


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="number of examples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embellish", type=float, default=0.0, help="0..1: share of longer, news-like sentences")
    ap.add_argument("--out", required=True, help="SQuAD v1.1 JSON file to write")
    args = ap.parse_args(argv)
    data = to_squad(generate(args.n, args.seed, embellish=args.embellish), title=f"generated-seed-{args.seed}")
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
