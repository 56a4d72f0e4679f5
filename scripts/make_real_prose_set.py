"""Write data/eval/real_prose.json: questions over real published prose (Python's and packages' own docs), held out.

The passages are quoted from the documentation installed with Python 3.11 and the kit's dependencies (each
title names its source); the questions and gold answers were written by hand before any model answered them.
Python packages' documentation is reserved for evaluation: no training script may read it. Run from the repo root.
"""
import json
from pathlib import Path

PASSAGES = [
 ("json", "Python standard library, json module docstring (Python 3.11)",
  "JSON (JavaScript Object Notation) is a subset of JavaScript syntax (ECMA-262 3rd edition) used as a "
  "lightweight data interchange format. The json module exposes an API familiar to users of the standard "
  "library marshal and pickle modules. It is derived from a version of the externally maintained simplejson library.",
  [("What does JSON stand for?", ["JavaScript Object Notation"]),
   ("JSON is a subset of what?", ["JavaScript syntax", "JavaScript syntax (ECMA-262 3rd edition)"]),
   ("What is JSON used as?", ["a lightweight data interchange format", "lightweight data interchange format"]),
   ("Which library is the json module derived from?", ["simplejson", "the externally maintained simplejson library"]),
   ("Users of which modules will find the json API familiar?", ["marshal and pickle", "marshal and pickle modules"])]),
 ("uuid", "Python standard library, uuid module docstring (Python 3.11)",
  "This module provides immutable UUID objects (class UUID) and the functions uuid1(), uuid3(), uuid4(), uuid5() "
  "for generating version 1, 3, 4, and 5 UUIDs as specified in RFC 4122. If all you want is a unique ID, you "
  "should probably call uuid1() or uuid4(). Note that uuid1() may compromise privacy since it creates a UUID "
  "containing the computer's network address. uuid4() creates a random UUID.",
  [("What may uuid1() compromise?", ["privacy"]),
   ("Which RFC specifies the UUID versions?", ["RFC 4122"]),
   ("What does uuid4() create?", ["a random UUID", "random UUID"]),
   ("What does a UUID made by uuid1() contain?", ["the computer's network address", "computer's network address"]),
   ("What kind of UUID objects does the module provide?", ["immutable", "immutable UUID objects"])]),
 ("heapq", "Python standard library, heapq module docstring (Python 3.11)",
  "Heap queue algorithm (a.k.a. priority queue). Heaps are arrays for which a[k] <= a[2*k+1] and a[k] <= a[2*k+2] "
  "for all k, counting elements from 0. For the sake of comparison, non-existing elements are considered to be "
  "infinite. The interesting property of a heap is that a[0] is always its smallest element.",
  [("What is the heap queue algorithm also known as?", ["priority queue"]),
   ("What is always the smallest element of a heap?", ["a[0]"]),
   ("How are non-existing elements considered for the sake of comparison?", ["infinite", "to be infinite"]),
   ("From what number are elements counted?", ["0", "from 0"])]),
 ("sqlite3", "Python standard library, sqlite3 module docstring (Python 3.11)",
  "The sqlite3 extension module provides a DB-API 2.0 (PEP 249) compliant interface to the SQLite library, and "
  "requires SQLite 3.7.15 or newer. To use the module, start by creating a database Connection object. The special "
  "path name \":memory:\" can be provided to connect to a transient in-memory database.",
  [("Which version of SQLite does the sqlite3 module require?", ["3.7.15 or newer", "SQLite 3.7.15 or newer", "3.7.15"]),
   ("Which PEP does the interface comply with?", ["PEP 249"]),
   ("What should you create first to use the module?", ["a database Connection object", "database Connection object"]),
   ("Which path name connects to a transient in-memory database?", ["\":memory:\"", ":memory:"]),
   ("What kind of module is sqlite3?", ["extension module", "The sqlite3 extension module", "extension"])]),
 ("secrets", "Python standard library, secrets module docstring (Python 3.11)",
  "Generate cryptographically strong pseudo-random numbers suitable for managing secrets such as account "
  "authentication, tokens, and similar. See PEP 506 for more information.",
  [("What kind of pseudo-random numbers does the module generate?", ["cryptographically strong"]),
   ("Which PEP gives more information?", ["PEP 506"]),
   ("What are the numbers suitable for?", ["managing secrets", "managing secrets such as account authentication, tokens, and similar"])]),
 ("statistics", "Python standard library, statistics module docstring (Python 3.11)",
  "This module provides functions for calculating statistics of data, including averages, variance, and standard "
  "deviation. The fmean function is a fast, floating point arithmetic mean. The median_grouped function gives the "
  "median, or 50th percentile, of grouped data. The mode function gives the most common value of data.",
  [("What does the mode function give?", ["the most common value of data", "most common value of data", "the most common value"]),
   ("Which function is a fast, floating point arithmetic mean?", ["fmean", "The fmean function"]),
   ("What is the median also called?", ["50th percentile", "the median, or 50th percentile"]),
   ("Besides averages and variance, what else does the module calculate?", ["standard deviation"])]),
 ("tqdm", "tqdm 4.70.1 package description (PyPI metadata)",
  "tqdm derives from the Arabic word taqaddum which can mean \"progress,\" and is an abbreviation for \"I love you "
  "so much\" in Spanish (te quiero demasiado). Instantly make your loops show a smart progress meter - just wrap "
  "any iterable with tqdm(iterable), and you're done! Overhead is low -- about 60ns per iteration (80ns with "
  "tqdm.gui), and is unit tested against performance regression. By comparison, the well-established ProgressBar "
  "has an 800ns/iter overhead.",
  [("Which Arabic word does tqdm derive from?", ["taqaddum"]),
   ("What can taqaddum mean?", ["progress", "\"progress,\""]),
   ("What is the overhead of tqdm per iteration?", ["about 60ns", "60ns", "about 60ns per iteration"]),
   ("What overhead does ProgressBar have?", ["800ns/iter", "an 800ns/iter overhead", "800ns/iter overhead"]),
   ("In which language is tqdm an abbreviation for \"I love you so much\"?", ["Spanish"])]),
 ("jinja", "Jinja2 3.1.6 package description (PyPI metadata)",
  "Jinja is a fast, expressive, extensible templating engine. Special placeholders in the template allow writing "
  "code similar to Python syntax. Then the template is passed data to render the final document. HTML templates "
  "can use autoescaping to prevent XSS from untrusted user input. A sandboxed environment can safely render "
  "untrusted templates. Templates are compiled to optimized Python code just-in-time and cached, or can be "
  "compiled ahead-of-time.",
  [("What is Jinja?", ["a fast, expressive, extensible templating engine", "fast, expressive, extensible templating engine", "templating engine"]),
   ("What can HTML templates use to prevent XSS?", ["autoescaping"]),
   ("What can safely render untrusted templates?", ["A sandboxed environment", "sandboxed environment"]),
   ("What are templates compiled to?", ["optimized Python code"]),
   ("Placeholders allow writing code similar to what?", ["Python syntax"])]),
 ("pandas", "pandas 3.0.6 package description (PyPI metadata)",
  "pandas is a Python package that provides fast, flexible, and expressive data structures designed to make "
  "working with \"relational\" or \"labeled\" data both easy and intuitive. It aims to be the fundamental "
  "high-level building block for doing practical, real-world data analysis in Python.",
  [("What is pandas?", ["a Python package that provides fast, flexible, and expressive data structures", "a Python package"]),
   ("What does pandas aim to be?", ["the fundamental high-level building block for doing practical, real-world data analysis in Python",
                                     "the fundamental high-level building block"]),
   ("What kind of data does pandas make easy to work with?", ["\"relational\" or \"labeled\" data", "relational\" or \"labeled"])]),
 ("markupsafe", "MarkupSafe 3.0.4 package description (PyPI metadata)",
  "MarkupSafe implements a text object that escapes characters so it is safe to use in HTML and XML. Characters "
  "that have special meanings are replaced so that they display as the actual characters. This mitigates "
  "injection attacks, meaning untrusted user input can safely be displayed on a page.",
  [("What does MarkupSafe implement?", ["a text object that escapes characters", "a text object"]),
   ("What does MarkupSafe mitigate?", ["injection attacks"]),
   ("In which formats is the text object safe to use?", ["HTML and XML"]),
   ("What are characters that have special meanings replaced so that they display as?", ["the actual characters", "actual characters"])]),
]

def main() -> None:
    data, count = [], 0
    for key, source, context, qas in PASSAGES:
        items = []
        for i, (question, golds) in enumerate(qas):
            answers = []
            for gold in golds:
                at = context.find(gold)
                assert at >= 0, (key, gold)
                answers.append({"text": gold, "answer_start": at})
            items.append({"id": f"{key}-{i + 1}", "question": question, "answers": answers})
            count += 1
        data.append({"title": f"{key}: {source}", "paragraphs": [{"context": context, "qas": items}]})
    out = {"version": "1.1", "data": data,
           "qa_kit": {"about": "Real published prose (Python's and packages' own documentation), never used in training; "
                               "questions and gold answers written by hand before any model answered them."}}
    Path("data/eval/real_prose.json").write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(count, "questions")

main()
