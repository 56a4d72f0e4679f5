"""Files into text: which files a library holds, each one's text and pages, and passages with offsets.

A document's text is what the kit reads and what every offset points into: the file itself for
.txt and .md (decoded as UTF-8, not changed), the visible text for .html, and the pages' text
joined by blank lines for .pdf. Passages are cut at paragraph and sentence boundaries, never
across pages, and keep (start, end) into that text, so `text[p.start:p.end] == p.text`.
Files that cannot be read are never an error for the whole library: each gets a one-line reason.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional, Tuple, Union

from ..errors import InputError

KINDS = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}
MAX_BYTES = 50 * 1024 * 1024  # files over this are skipped as too large (max_bytes= to change)
PASSAGE_CHARS = 600  # passages are packed up to about this many characters
LIBRARY_HINT = "pip install 'qa-kit[library]'"
_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "table", "tr", "td", "th",
               "pre", "blockquote", "section", "article", "header", "footer", "br", "hr", "dd", "dt", "figcaption"}
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*\Z)", re.S)
_SENTENCE = re.compile(r"\S.*?(?:[.!?][\"')\]]*(?=\s)|\Z)", re.S)


class ParseError(Exception):
    """A file the library skips, with the one-line reason the index report shows."""


@dataclass
class Document:
    """One file's text: `pages` are (start, end) ranges of `text`, one per PDF page (one for other kinds)."""

    path: Path
    kind: str
    text: str
    pages: List[Tuple[int, int]] = field(default_factory=list)
    title: str = ""

    def page_of(self, at: int) -> Optional[int]:
        """The 1-based page holding character `at` (None for files without pages)."""
        if self.kind != "pdf":
            return None
        for number, (a, b) in enumerate(self.pages, start=1):
            if at < b or number == len(self.pages):
                return number
        return None


@dataclass(frozen=True)
class Passage:
    """A stretch of a document's text: `document.text[start:end] == text`; page is 1-based or None."""

    start: int
    end: int
    text: str
    page: Optional[int] = None


def _optional(module: str, what: str):
    """Import an optional parser, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InputError(f"Reading {what} files needs {module.split('.')[0]}: {LIBRARY_HINT}.") from None


def find_files(sources: Union[str, os.PathLike, Iterable[Union[str, os.PathLike]]]
               ) -> Tuple[List[Path], List[Tuple[str, str]]]:
    """The supported files under folders and among files given, and (path, reason) for those skipped.

    Symbolic links are followed, each real folder once, so a link loop is reported, not walked forever.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    found: List[Path] = []
    skipped: List[Tuple[str, str]] = []
    seen_dirs: set = set()
    seen_files: set = set()

    def add_file(path: Path) -> None:
        if path.suffix.lower() not in KINDS:
            skipped.append((str(path), f"not a kind the library reads ({', '.join(sorted(set(KINDS)))})"))
            return
        real = path.resolve()
        if real not in seen_files:
            seen_files.add(real)
            found.append(path)

    def walk(folder: Path) -> None:
        try:
            real = folder.resolve(strict=True)
        except (OSError, RuntimeError):
            skipped.append((str(folder), "a symbolic link loop or a broken link"))
            return
        if real in seen_dirs:
            skipped.append((str(folder), "a symbolic link loop (this folder was already read)"))
            return
        seen_dirs.add(real)
        try:
            children = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            skipped.append((str(folder), f"folder not readable ({error.strerror})"))
            return
        for child in children:
            path = Path(child.path)
            if child.name.startswith("."):
                continue
            try:
                is_dir = child.is_dir()
                is_file = child.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                walk(path)
            elif is_file:
                add_file(path)
            elif child.is_symlink():
                skipped.append((str(path), "a broken symbolic link or a link loop"))

    for source in sources:
        path = Path(source).expanduser()
        if path.is_dir():
            walk(path)
        elif path.is_file():
            add_file(path)
        else:
            raise InputError(f"{path} is neither a file nor a folder: give folders or files to index.")
    return found, skipped


def check_size(path: Path, max_bytes: int = MAX_BYTES) -> int:
    """The file's size in bytes, or a ParseError when it is empty, too large or cannot be read."""
    try:
        size = Path(path).stat().st_size
    except OSError as error:
        raise ParseError(f"not readable ({error.strerror})") from None
    if size == 0:
        raise ParseError("empty file")
    if size > max_bytes:
        raise ParseError(f"too large ({size / 1e6:.1f} MB, the limit is {max_bytes / 1e6:.0f} MB)")
    return size


def read_document(path: Path, max_bytes: int = MAX_BYTES) -> Document:
    """The text of one file (by its extension), or a ParseError saying why it is skipped."""
    path = Path(path)
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise ParseError("not a kind the library reads")
    check_size(path, max_bytes)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ParseError(f"not readable ({error.strerror})") from None
    if kind == "pdf":
        document = _read_pdf(path, data)
    else:
        if b"\x00" in data[:8192]:
            raise ParseError("binary data, not text")
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ParseError(f"not UTF-8 text (byte 0x{data[error.start]:02x} at {error.start})") from None
        document = _read_html(path, raw) if kind == "html" else Document(path, kind, raw, [(0, len(raw))], _first_line(raw))
    if not document.text.strip():
        raise ParseError("no text in it" + (" (a scanned PDF has only images)" if kind == "pdf" else ""))
    return document


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0].strip().lstrip("#").strip()
    return line[:120]


def _read_html(path: Path, raw: str) -> Document:
    lexbor = _optional("selectolax.lexbor", "HTML")
    tree = lexbor.LexborHTMLParser(raw)
    title_node = tree.css_first("title")
    title = " ".join(title_node.text().split()) if title_node is not None else ""
    tree.strip_tags(["script", "style", "noscript", "template", "head"])
    root = tree.body or tree.root
    pieces: List[str] = []
    for node in (root.traverse(include_text=True) if root is not None else []):
        if node.tag in _BLOCK_TAGS:
            pieces.append("\n\n")
        elif node.tag == "-text":
            inside_pre = node.parent is not None and node.parent.tag == "pre"
            pieces.append(node.text(deep=False) if inside_pre else re.sub(r"\s+", " ", node.text(deep=False)))
    text = re.sub(r"[ \t]*\n\s*\n\s*", "\n\n", "".join(pieces)).strip() + "\n"
    return Document(path, "html", text, [(0, len(text))], title or _first_line(text))


def _read_pdf(path: Path, data: bytes) -> Document:
    pypdf = _optional("pypdf", "PDF")
    import io
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed files warn on every page
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError("an encrypted PDF (give the library a copy without a password)")
        texts = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata and reader.metadata.title else "") or ""
    except ParseError:
        raise
    except Exception as error:  # pypdf raises many kinds on damaged files, and some dependencies' errors
        reason = " ".join(str(error).split())[:100] or type(error).__name__
        if "encrypt" in reason.lower() or "password" in reason.lower():
            raise ParseError("an encrypted PDF (give the library a copy without a password)") from None
        raise ParseError(f"an unreadable PDF ({reason})") from None
    pages, parts, at = [], [], 0
    for number, page_text in enumerate(texts):
        page_text = page_text.strip()
        if number:
            parts.append("\n\n")
            at += 2
        parts.append(page_text)
        pages.append((at, at + len(page_text)))
        at += len(page_text)
    text = "".join(parts)
    return Document(path, "pdf", text, pages, str(title).strip() or _first_line(text))


def _pieces(text: str, a: int, b: int, limit: int) -> Iterator[Tuple[int, int]]:
    """Paragraphs of text[a:b], a paragraph over `limit` cut into sentences (a sentence over it at spaces)."""
    for para in _PARAGRAPH.finditer(text, a, b):
        if para.end() - para.start() <= limit:
            yield para.start(), para.end()
            continue
        for sentence in _SENTENCE.finditer(text, para.start(), para.end()):
            s, e = sentence.start(), sentence.end()
            while e - s > limit:
                cut = text.rfind(" ", s + limit // 2, s + limit)
                cut = cut if cut > s else s + limit
                yield s, cut
                s = cut + 1 if text[cut:cut + 1] == " " else cut
            if e > s:
                yield s, e


def passages(document: Document, limit: int = PASSAGE_CHARS) -> List[Passage]:
    """The document cut into passages of up to about `limit` characters: whole paragraphs packed
    together, long ones cut at sentences; a passage never crosses a page."""
    text = document.text
    found: List[Passage] = []
    for number, (a, b) in enumerate(document.pages or [(0, len(text))], start=1):
        page = number if document.kind == "pdf" else None
        start = end = None
        for s, e in _pieces(text, a, b, limit):
            if start is not None and e - start > limit:
                found.append(Passage(start, end, text[start:end], page))
                start = None
            if start is None:
                start = s
            end = e
        if start is not None:
            found.append(Passage(start, end, text[start:end], page))
    return found
