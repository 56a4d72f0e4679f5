"""Make question-answer pairs from the real, unlabelled prose of Debian's documentation, by rules.

Sources (all installed on these machines, none written by us): man pages (/usr/share/man, rendered with
man(1)), info manuals (/usr/share/info) and READMEs, text and HTML under /usr/share/doc. Anything
about Python (python*, py*, pip, site-packages, and the packages the held-out set quotes) is
skipped: Python's documentation is the held-out evaluation and is never read here.

Each rule turns one sentence pattern into a question whose answer is a span of that sentence:
definitions ("X is a Y" -> "What is X?"), acronyms, "also known as", subject-verb-object
("X creates Y" -> "What does X create?", "Which option creates Y?"), agents ("written by"),
defaults, purposes ("used to/for"), origins ("derived from", "based on"), places, counts and years.
Contexts are the paragraph, sometimes with neighbouring paragraphs of the same page as distractors.

    python scripts/make_doc_qa.py --out /tmp/doc_qa.jsonl [--man-every 2] [--seed 7]

Writes JSONL (id, title, source, rule, context, question, answer, answer_start) and prints counts
per source and per rule for the model card.
"""
from __future__ import annotations

import argparse
import collections
import csv
import gzip
import json
import os
import random
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

# Held out for evaluation: never read documents whose path mentions these.
HELD_OUT = re.compile(r"python|(^|[/_.-])py|pip|site-packages|tqdm|jinja|pandas|markupsafe|sqlite|json|uuid|"
                      r"heapq|secrets|statistics", re.I)

PRONOUNS = {"it", "this", "these", "that", "those", "there", "here", "they", "we", "you", "he", "she",
            "i", "one", "each", "some", "most", "all", "such", "if", "when", "in", "for", "on", "at",
            "as", "with", "by", "to", "from", "note", "also", "but", "and", "or", "so", "then", "thus",
            "however", "otherwise", "because", "since", "while", "where", "which", "what", "who",
            "its", "their", "our", "your", "his", "her", "both", "any", "no", "not", "only", "now",
            "example", "see", "use", "after", "before", "unless", "until", "once", "other", "another", "though",
            "although", "whether", "again", "instead", "first", "finally", "next", "remaining", "following",
            "usually", "normally", "many", "several", "every", "same", "first,"}
FUNCTION_END = {"the", "a", "an", "of", "to", "and", "or", "with", "for", "in", "on", "by", "at", "as",
                "from", "that", "is", "are", "be", "its", "their", "this", "into", "than", "not", "nor"}
VERBS = ("provides contains creates displays prints reads writes returns removes copies converts sets "
         "changes shows lists allows supports implements uses requires generates manages controls "
         "specifies defines describes determines produces sends receives accepts checks compares stores "
         "searches replaces outputs starts stops runs executes installs updates deletes extracts "
         "compresses decompresses encrypts decrypts signs verifies mounts formats handles parses "
         "translates emulates computes calculates reports selects limits splits merges sorts filters "
         "enables disables loads saves keeps adds includes ignores prevents causes matches "
         "configures monitors measures tracks records identifies describes documents explains "
         "lets makes gives builds packages downloads uploads connects mimics resembles "
         "overrides affects modifies restores preserves transfers synchronizes").split()
VERB_SET = set(VERBS) | {"is", "are", "was", "were", "exists", "exist", "has", "have", "be", "can", "may",
                         "will", "must", "should", "does", "do"}
INNER_STOP = {"you", "your", "we", "it", "there", "if", "when", "because", "which", "that", "this", "then",
              "where", "who", "they", "them", "he", "she", "not", "also", "only"}
OBJECT_STOP = {"you", "it", "them", "us", "him", "her", "me", "or", "and", "much", "more", "very", "only",
               "also", "not", "to", "that", "whether", "how", "what", "which", "if", "so", "as"}
# The head nouns that make "Which <noun> ...?" questions over the subject.
HEADS = ("option command file function program variable flag library module package tool utility "
         "directory format protocol daemon service field key parameter argument setting signal "
         "system call interface driver macro header value mode keyword").split()
STOP_ANSWER = re.compile(r"\s*(?:[;:(]|\s[-\u2014]\s|,\s*(?:which|and|but|or|so|because|when|if|where|while|unless|"
                         r"such as|including|e\.g\.|i\.e\.|for example|as well|although|though|then|also)\b|"
                         r"\s(?:which|because|when|if|where|while|unless|so that|in order to|except|"
                         r"whereas|although|though|since|until|after|before)\b|\.\s|[.!?]$|$)")
SHORT_STOP = re.compile(r"\s(?:to|for|from|with|by|in|on|at|into|using|via|without|per|as|through|over|"
                        r"under|within|against|during|instead|rather|just|before|after)\s")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")
ABBREV_END = re.compile(r"\b(?:e\.g|i\.e|etc|vs|cf|Dr|Mr|Mrs|No|Fig|approx|resp)\.$")
WORD = r"-{0,2}[A-Za-z0-9][\w.+/#-]*"
SUBJ = rf"(?:(?:[Tt]he|An?)\s)?{WORD}(?:\s{WORD}){{0,4}}"


# ----------------------------------------------------------------------------- reading documents
def man_text(path: Path) -> str:
    """A man page rendered as plain text on one long line per paragraph line."""
    env = dict(os.environ, MANWIDTH="2000", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8", LANG="C.UTF-8")
    try:
        out = subprocess.run(["man", "-E", "UTF-8", "-P", "cat", "-l", str(path)], capture_output=True, env=env,
                             timeout=20).stdout
        return subprocess.run(["col", "-b"], input=out, capture_output=True, timeout=20).stdout.decode(
            "utf-8", "replace")
    except subprocess.TimeoutExpired:
        return ""


def blocks(text: str) -> List[str]:
    """Blank-line separated blocks, each joined into one line of single spaces."""
    out = []
    text = re.sub(r"(?m)^[A-Z][A-Z0-9 /-]{1,40}$", "", text)  # man page section headers (NAME, SEE ALSO)
    for block in re.split(r"\n\s*\n", text):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if lines:
            out.append(re.sub(r"\s+", " ", " ".join(lines)))
    return out


def is_prose(p: str) -> bool:
    """A paragraph of sentences: long enough, mostly words, few code symbols, ends like a sentence."""
    if not 120 <= len(p) <= 1500 or p[-1] not in ".!?" or p[0] in "-*$#>|[{<" or "??" in p or "\ufffd" in p:
        return False
    words = p.split()
    alpha = sum(bool(re.fullmatch(r"[A-Za-z][a-z'-]*[,.;:]?", w)) for w in words)
    symbols = sum(p.count(c) for c in "{}[]=<>|\\$`_*")
    return len(words) >= 18 and alpha / len(words) >= 0.7 and symbols <= len(words) * 0.05


def documents(man_every: int, limit: Optional[int] = None) -> Iterator[Tuple[str, str, List[str]]]:
    """(source, title, paragraphs) for every readable, non-held-out document, in a fixed order."""
    root = Path("/usr/share")
    pages = []
    for section in ("man1", "man3", "man5", "man7", "man8"):
        found = sorted(p for p in (root / "man" / section).glob("*") if p.is_file() and not HELD_OUT.search(p.name))
        pages += found[::man_every] if section in ("man1", "man3") else found
    pages = pages[:limit] if limit else pages
    with ThreadPoolExecutor(2) as pool:
        for path, text in zip(pages, pool.map(man_text, pages)):
            yield "man:" + path.parent.name, path.name.split(".")[0], blocks(text)
    for path in sorted((root / "info").glob("*.info*")):
        if HELD_OUT.search(path.name):
            continue
        text = gzip.open(path, "rt", errors="replace").read() if path.suffix == ".gz" else path.read_text(errors="replace")
        yield "info", path.name.split(".")[0], blocks(text)
    for path in sorted((root / "doc").rglob("*")):
        rel = str(path.relative_to(root / "doc"))
        if HELD_OUT.search(rel) or not path.is_file() or "changelog" in rel.lower() or "copyright" in rel:
            continue
        name = path.name.lower()
        try:
            if name.endswith((".html", ".htm")):
                yield "doc:html", rel.split("/")[0], html_paragraphs(path.read_text(errors="replace"))
            elif name.startswith("readme") or name.endswith((".txt", ".txt.gz")):
                opener = gzip.open if name.endswith(".gz") else open
                with opener(path, "rt", errors="replace") as f:
                    yield "doc:text", rel.split("/")[0], blocks(f.read(400_000))
        except (OSError, EOFError, UnicodeError):
            continue


def html_paragraphs(html: str) -> List[str]:
    """The text of each <p> element, tags dropped and entities decoded."""
    import html as htmllib
    out = []
    for raw in re.findall(r"<p\b[^>]*>(.*?)</p>", html, flags=re.S | re.I):
        out.append(re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", "", raw))).strip())
    return out


def sentences(paragraph: str) -> List[Tuple[int, str]]:
    """(offset, sentence) pairs; splits after . ! ? unless the word before is an abbreviation."""
    out, start = [], 0
    for m in SENTENCE_END.finditer(paragraph):
        if ABBREV_END.search(paragraph[start:m.start()]):
            continue
        out.append((start, paragraph[start:m.start()]))
        start = m.end()
    out.append((start, paragraph[start:]))
    return out


# ----------------------------------------------------------------------------- rules
def cut_answer(s: str, start: int, max_words: int = 15, short: bool = True) -> Optional[Tuple[int, int]]:
    """End an answer beginning at s[start] at the first clause boundary (short: also before a
    preposition other than "of" or an infinitive, as SQuAD's short answers do); None if not a good span."""
    m = STOP_ANSWER.search(s, start)
    end = m.start() if m else len(s)
    if short:
        first = re.match(r"\S+", s[start:])
        m = SHORT_STOP.search(s, start + (first.end() if first else 0), end)
        if m:  # a clause cut short loses its relative pronoun too: "routines that have been extracted"
            rel = re.search(r"\s(?:that|which|who)\s", s[start:m.start()])
            cut = start + rel.start() if rel else m.start()
            if not re.fullmatch(r"(?:an?|the)\s+\S+", s[start:cut].strip()):  # "a mechanism" says too little
                end = cut
        end = start + len(re.sub(r"\s(?:used|given|set|defined|called|shown|provided|specified)$", "", s[start:end]))
    span = s[start:end].rstrip(" ,.")
    words = span.split()
    if not words or len(words) > max_words or words[-1].lower() in FUNCTION_END:
        return None
    if span.count('"') % 2 or span.count("(") != span.count(")") or "[" in span or "]" in span:
        return None
    return start, start + len(span)


def subject_ok(subj: str) -> bool:
    """A named subject, not a pronoun, conjunction or opening phrase."""
    words = [w.lower() for w in subj.split()]
    first = words[1] if words[0] in ("the", "a", "an") and len(words) > 1 else words[0]
    inner = set(words[1:])
    return (first not in PRONOUNS and not first.endswith("ly") and len(subj) >= 2
            and not inner & INNER_STOP and not inner & VERB_SET and not any(w.endswith("ly") for w in inner))


def lower_article(subj: str) -> str:
    """'The ls command' -> 'the ls command' for use inside a question."""
    head, _, rest = subj.partition(" ")
    return (head.lower() + " " + rest) if head in ("The", "A", "An") and rest else subj


def base_verb(v: str) -> str:
    """provides -> provide, copies -> copy, matches -> match."""
    if v.endswith("ies"):
        return v[:-3] + "y"
    if re.search(r"(ss|sh|ch|x|z|o)es$", v):
        return v[:-2]
    return v[:-1] if v.endswith("s") else v


Q = Tuple[str, int, int, str]  # question, answer start, answer end (in the sentence), rule


def rule_acronym(s: str) -> List[Q]:
    out = []
    for m in re.finditer(r"\b((?:[A-Z][\w-]*\s+){1,6}?[A-Z][\w-]*|(?:[A-Za-z][\w-]*\s+){1,6}?[a-z][\w-]*) \(([A-Z][A-Z0-9]{1,7})\)", s):
        long_form, acro = m.group(1), m.group(2)
        words = long_form.split()
        initials = "".join(w[0].upper() for w in words)
        letters = re.sub(r"[^A-Z]", "", acro)
        k = next((i for i in range(len(words)) if initials[i] == acro[0]), None)
        if k is None or not 2 <= len(words) - k <= len(acro) + 1:
            continue
        rest = iter("".join(words[k:]).upper())
        if not (initials[k:] == letters or (all(ch in rest for ch in letters) and set(initials[k:]) <= set(letters))):
            continue
        start = m.start(1) + len(" ".join(words[:k])) + (1 if k else 0)
        out.append((f"What does {acro} stand for?", start, m.end(1), "acronym"))
    for m in re.finditer(r"\b([A-Z][A-Z0-9]{1,7}) \(((?:[A-Z][\w-]*\s+){1,6}[A-Z][\w-]*)\)", s):
        if m.group(2)[0] == m.group(1)[0]:
            out.append((f"What does {m.group(1)} stand for?", m.start(2), m.end(2), "acronym"))
    for m in re.finditer(rf"\b({WORD}) (?:stands for|is short for|is an abbreviation (?:of|for)) \"?", s):
        span = cut_answer(s, m.end())
        if span and subject_ok(m.group(1)):
            out.append((f"What does {m.group(1)} stand for?", *span, "acronym"))
    return out


def rule_definition(s: str) -> List[Q]:
    m = re.match(rf"({SUBJ}) (is|are) ((?:an?|the|one of the) .*)", s)
    if not m or not subject_ok(m.group(1)) or re.search(r"\b(?:not|also|now|then|only|used)\b", m.group(1)):
        return []
    span = cut_answer(s, m.start(3), max_words=14, short=False)
    if not span or span[1] - span[0] < 6 or len(s[span[0]:span[1]].split()) < 2:
        return []
    subj = lower_article(m.group(1))
    out = [(f"What {m.group(2)} {subj}?", *span, "definition")]
    np = s[span[0]:span[1]].split()
    if m.group(2) == "is" and np[0] in ("a", "an") and 3 <= len(np) <= 5 and re.fullmatch(r"[a-z]+", np[-1]) \
            and np[-1] not in FUNCTION_END and all(w.lower() not in FUNCTION_END for w in np[1:]):
        kind_start = span[0] + len(np[0]) + 1
        out.append((f"What kind of {np[-1]} is {subj}?", kind_start, span[1] - len(np[-1]) - 1, "kind"))
    return out


def rule_alias(s: str) -> List[Q]:
    out = []
    for m in re.finditer(rf"({SUBJ}),? (?:\(|is |are )?(?:also known as|also called|a\.k\.a\.|aka|often called|sometimes called) ", s):
        subj = re.sub(r" (?:is|are)$", "", m.group(1))
        span = cut_answer(s, m.end())
        if span and subject_ok(subj):
            out.append((f"What is {lower_article(subj)} also known as?", *span, "alias"))
    return out


SVO = re.compile(rf"({SUBJ}) (?:(can|may|will|must|should) ({'|'.join(base_verb(v) for v in VERBS)})|({'|'.join(VERBS)})) (.*)")


def rule_svo(s: str) -> List[Q]:
    m = SVO.match(s)
    if not m or not subject_ok(m.group(1)):
        return []
    subj, modal = m.group(1), m.group(2)
    verb = m.group(3) or m.group(4)
    first_object = m.group(5).split()[0].lower() if m.group(5).split() else ""
    if first_object in OBJECT_STOP or first_object.endswith("ly"):
        return []
    span = cut_answer(s, m.start(5), max_words=12)
    if not span:
        return []
    out = [(f"What {modal or 'does'} {lower_article(subj)} {verb if modal else base_verb(verb)}?", *span, "svo")]
    words = subj.split()
    rest = s[m.start(2) if modal else m.start(4):m.end(5)].rstrip(" .")
    if words[0] in ("The",) and len(words) >= 3 and words[-1].lower() in HEADS and len(rest.split()) <= 14:
        name_end = len(" ".join(words[:-1]))
        out.append((f"Which {words[-1].lower()} {rest}?", len(words[0]) + 1, name_end, "which"))
    elif len(words) == 1 and re.fullmatch(r"[a-z][\w.+-]*", subj) and len(rest.split()) <= 14:
        out.append((f"What {rest}?", 0, len(subj), "which"))
    return out


PASSIVE = {"written": "wrote", "developed": "developed", "maintained": "maintains", "created": "created",
           "designed": "designed", "implemented": "implemented", "invented": "invented",
           "originally written": "originally wrote", "started": "started", "founded": "founded",
           "sponsored": "sponsors", "published": "published", "funded": "funded", "proposed": "proposed"}


AGENT = re.compile(rf"^({SUBJ}) (?:is|was|are|were|has been|have been) ({'|'.join(PASSIVE)}) by ")


def rule_agent(s: str) -> List[Q]:
    out = []
    for m in AGENT.finditer(s):
        span = cut_answer(s, m.end(), max_words=8)
        if span and subject_ok(m.group(1)) and s[span[0]].isupper():
            out.append((f"Who {PASSIVE[m.group(2)]} {lower_article(m.group(1))}?", *span, "agent"))
    return out


RELATIONS = ("similar to", "compatible with", "part of", "a subset of", "equivalent to", "based on",
             "derived from", "suitable for", "useful for", "intended for", "designed for", "used for",
             "used as", "used by", "stored in", "located in", "installed in", "kept in", "written in",
             "made up of", "composed of", "used to", "required by", "replaced by", "called", "limited to",
             "set to", "ignored by", "released under", "licensed under", "available in", "available from",
             "defined in")
WHERE = {"stored in", "located in", "installed in", "kept in", "available from"}
RELATION = re.compile(rf"({SUBJ}) (is|are|was|were) (?:(?:usually|mainly|often|normally|typically|always|"
                      rf"primarily|also|mostly|generally|largely|commonly) )?"
                      rf"({'|'.join(re.escape(k) for k in sorted(RELATIONS, key=len, reverse=True))}) ")


def rule_relation(s: str) -> List[Q]:
    m = RELATION.match(s)
    if not m or not subject_ok(m.group(1)):
        return []
    span = cut_answer(s, m.end(), max_words=12)
    if not span:
        return []
    subj, be, r = lower_article(m.group(1)), m.group(2), m.group(3)
    if r in WHERE:
        q = f"Where {be} {subj} {r.split()[0]}?"
    elif r == "used to":
        q = f"What {be} {subj} used to do?"
    elif r == "written in":
        q = f"In what language {be} {subj} written?"
    elif r in ("released under", "licensed under"):
        q = f"Under which license {be} {subj} {r.split()[0]}?"
    else:
        q = f"What {be} {subj} {r}?"
    return [(q, *span, "relation")]


def rule_verb_prep(s: str) -> List[Q]:
    m = re.match(rf"({SUBJ}) (consists of|derives from|means|refers to|depends on|defaults to|belongs to|"
                 rf"corresponds to|relies on|works with|runs on|listens on|applies to|comes from) ", s)
    if not m or not subject_ok(m.group(1)):
        return []
    span = cut_answer(s, m.end(), max_words=12)
    if not span:
        return []
    verb, _, prep = m.group(2).partition(" ")
    return [(f"What does {lower_article(m.group(1))} {base_verb(verb)}{' ' + prep if prep else ''}?", *span,
             "verb-prep")]


def rule_default(s: str) -> List[Q]:
    out = []
    m = re.search(rf"\b[Tt]he default ((?:{WORD}\s){{0,3}}{WORD}) is ", s)
    if m and not m.group(1).startswith(("is ", "value is")):
        span = cut_answer(s, m.end(), max_words=8)
        if span and not re.match(r"[a-z]+ed\b", s[span[0]:span[1]]):
            out.append((f"What is the default {m.group(1)}?", *span, "default"))
    m = re.search(rf"\b(?:[Tt]he default(?: value)? (?:for|of) )((?:{WORD}\s){{0,3}}{WORD}) is ", s)
    if m:
        span = cut_answer(s, m.end(), max_words=8)
        if span:
            out.append((f"What is the default for {m.group(1)}?", *span, "default"))
    return out


def rule_number(s: str) -> List[Q]:
    out = []
    m = re.match(rf"({SUBJ}) (has|have|supports|accepts|takes|uses|allows|contains) ((?:up to|at most|at least|about|exactly|only|over|more than|less than) )?(\d[\d,.]*) ([a-z]+(?: [a-z]+)?)\b", s)
    if m and subject_ok(m.group(1)) and m.group(5).split()[-1] not in FUNCTION_END:
        noun = m.group(5)
        do = "does" if m.group(2).endswith("s") else "do"
        base = "have" if m.group(2) in ("has", "have") else base_verb(m.group(2))
        start = m.start(3) if m.group(3) else m.start(4)
        out.append((f"How many {noun} {do} {lower_article(m.group(1))} {base}?", start, m.end(4), "number"))
    m = re.match(rf"({SUBJ}) (?:was|were) (first released|released|introduced|added|created|written|"
                 rf"deprecated|removed|started|published|standardized|founded) in ((?:version |release )?[\w.]*\d[\w.]*)", s)
    if m and subject_ok(m.group(1)):
        what = m.group(3).rstrip(".")
        q = f"When was {lower_article(m.group(1))} {m.group(2)}?" if re.fullmatch(r"\d{4}", what) else \
            f"In which version was {lower_article(m.group(1))} {m.group(2)}?"
        out.append((q, m.start(3), m.start(3) + len(what), "date"))
    return out


RULES = (rule_acronym, rule_definition, rule_alias, rule_svo, rule_agent, rule_relation, rule_verb_prep,
         rule_default, rule_number)


def questions(paragraph: str) -> List[Tuple[str, str, int, str]]:
    """(question, answer, start in paragraph, rule) for every rule that matches a sentence."""
    out = []
    for offset, sent in sentences(paragraph):
        for rule in RULES:
            for q, a0, a1, name in rule(sent):
                answer = sent[a0:a1]
                if answer.strip() and answer.lower() not in q.lower() and len(q) <= 160:
                    out.append((re.sub(r"\s+", " ", q), answer, offset + a0, name))
    return out


# ----------------------------------------------------------------------------- assembly
def make(seed: int, man_every: int, limit: Optional[int], per_paragraph: int, per_doc: int,
         neighbours: float) -> List[Dict[str, object]]:
    """Examples in a fixed order for a given seed; contexts sometimes carry 1-3 neighbour paragraphs."""
    rng = random.Random(seed)
    out: List[Dict[str, object]] = []
    seen_q, seen_ctx = set(), set()
    for source, title, paras in documents(man_every, limit):
        prose = [p for p in paras if is_prose(p)]
        prose = [p for p in prose if not (p in seen_ctx or seen_ctx.add(p))]  # the same paragraph once
        taken = 0
        for i, para in enumerate(prose):
            found = questions(para)
            rng.shuffle(found)
            for q, answer, start, rule in found[:per_paragraph]:
                if (title, q) in seen_q or taken >= per_doc:
                    continue
                seen_q.add((title, q))
                context = para
                if rng.random() < neighbours and len(prose) > 1:
                    before = prose[max(0, i - rng.randint(0, 2)):i]
                    after = prose[i + 1:i + 1 + rng.randint(0, 2)]
                    head = " ".join(before)
                    context = " ".join(before + [para] + after)
                    start += len(head) + (1 if head else 0)
                assert context[start:start + len(answer)] == answer
                out.append({"id": f"doc-{len(out)}", "title": title, "source": source, "rule": rule,
                            "context": context, "question": q, "answer": answer, "answer_start": start})
                taken += 1
    return out


def write_sources(examples: List[Dict[str, object]], path: Path) -> None:
    """source,title,examples for every document the examples came from: the model card's record."""
    counts = collections.Counter((str(e["source"]), str(e["title"])) for e in examples)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "title", "examples"])
        w.writerows([s, t, n] for (s, t), n in sorted(counts.items()))
    tmp.replace(path)


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--man-every", type=int, default=2, help="read every Nth page of man1 and man3 (all of man5/7/8)")
    ap.add_argument("--limit", type=int, help="read at most this many man pages (a quick look)")
    ap.add_argument("--per-paragraph", type=int, default=3)
    ap.add_argument("--per-doc", type=int, default=40)
    ap.add_argument("--neighbours", type=float, default=0.4, help="share of contexts given neighbour paragraphs")
    ap.add_argument("--show", type=int, default=0, help="print this many random examples")
    ap.add_argument("--sources", help="also write a CSV of every source document and its example count")
    args = ap.parse_args(argv)
    examples = make(args.seed, args.man_every, args.limit, args.per_paragraph, args.per_doc, args.neighbours)
    tmp = Path(args.out + ".tmp")
    with tmp.open("w") as f:
        for ex in examples:
            f.write(json.dumps(ex, ensure_ascii=False) + "\n")
    tmp.replace(args.out)
    if args.sources:
        write_sources(examples, Path(args.sources))
    by_source = collections.Counter(str(e["source"]) for e in examples)
    by_rule = collections.Counter(str(e["rule"]) for e in examples)
    docs = collections.Counter(str(e["source"]) for e in {(e["source"], e["title"]): e for e in examples}.values())
    print(f"{len(examples)} examples -> {args.out}")
    print("by source:", ", ".join(f"{k} {v} ({docs[k]} documents)" for k, v in sorted(by_source.items())))
    print("by rule:", ", ".join(f"{k} {v}" for k, v in by_rule.most_common()))
    for ex in random.Random(1).sample(examples, min(args.show, len(examples))):
        print(f"- [{ex['rule']}] {ex['question']} -> {ex['answer']!r}")


if __name__ == "__main__":
    main()
