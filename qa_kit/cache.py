"""The kit's cache folder, and the only way files get into it: whole or not at all.

Every file the kit writes under the cache is written to a temporary name beside its target and
renamed into place, so a kill at any moment leaves either the old state or the new one, never half
a file. A cache entry is a folder with a manifest of its files' sizes and SHA-256 hashes; an entry
that does not match its manifest is rebuilt. Builders of one entry are serialised by a file lock,
so two processes (or threads) filling a fresh cache do not trip over each other.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

from .errors import SourceError

MANIFEST = ".qa-kit-manifest.json"  # in each entry: {"files": {name: {"size": n, "sha256": hex}}}
TEMP_PREFIX = ".tmp-"  # temporary names: .tmp-<pid>-<random>-<name>
CLEAR_HINT = "clear it with `qa-kit cache clear` (or delete the folder) and load again"
_thread_locks: Dict[str, threading.Lock] = {}  # flock is per process: threads need their own lock too
_thread_locks_guard = threading.Lock()
_hash_memo: Dict[Tuple[int, ...], str] = {}


def cache_dir() -> Path:
    """The one folder for downloads and model copies: $QA_KIT_CACHE, else ~/.cache/qa-kit."""
    root = os.environ.get("QA_KIT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "qa-kit")
    return Path(root)


def temp_name(target: Path) -> Path:
    """A temporary path beside `target`, on the same file system so a rename is atomic."""
    return target.with_name(f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}-{target.name}")


def write_atomic(target: Path, write: Callable[[Path], None]) -> Path:
    """Have `write(path)` write a temporary file, flush it to disk, then rename it over `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_name(target)
    try:
        write(temp)
        with open(temp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    return target


def copy_atomic(source: Path, target: Path) -> Path:
    """Copy a file so that `target` is either absent, the old file, or the whole new copy."""
    return write_atomic(target, lambda temp: shutil.copyfile(source, temp))


def write_text_atomic(target: Path, text: str) -> Path:
    """Write a small text file (a manifest, a config) whole or not at all."""
    return write_atomic(target, lambda temp: temp.write_text(text, encoding="utf-8"))


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock named after `path` (a `.lock` file beside it), across threads and processes."""
    lock_file = Path(str(path) + ".lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with _thread_locks_guard:
        thread_lock = _thread_locks.setdefault(str(lock_file), threading.Lock())
    with thread_lock, open(lock_file, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _stat_key(path: Path) -> Tuple[int, ...]:
    # ctime changes on every write and cannot be set by cp -p, rsync -a or tar: a file rewritten
    # with the same size and modification time still gets a new key, so it is hashed again.
    s = os.stat(path)
    return (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, computed once per version of the file (size, times, inode)."""
    path = Path(path)
    key = _stat_key(path)
    known = _hash_memo.get(key)
    if known is None:
        # named by device and inode, not path: an entry's files keep theirs when its folder is renamed in
        memo_file = cache_dir() / "hashes" / f"{key[0]}-{key[1]}.json"
        try:
            memo = json.loads(memo_file.read_text(encoding="utf-8"))
            known = memo["sha256"] if tuple(memo["stat"]) == key else None
        except (OSError, ValueError, KeyError, TypeError):
            known = None
        if known is None:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            known = digest.hexdigest()
            with contextlib.suppress(OSError):  # the memo only saves time; a read-only cache still works
                write_text_atomic(memo_file, json.dumps({"path": str(path), "stat": list(key), "sha256": known}))
        _hash_memo[key] = known
    return known


def manifest_of(folder: Path, names: List[str]) -> dict:
    """Sizes and hashes of the named files in `folder`, as recorded in an entry's manifest."""
    return {"files": {name: {"size": (folder / name).stat().st_size, "sha256": file_sha256(folder / name)}
                      for name in sorted(names)}}


def is_whole(folder: Path) -> bool:
    """True when an entry has its manifest and every file in it matches its size and hash."""
    try:
        files = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]
        return all((folder / name).stat().st_size == facts["size"] and file_sha256(folder / name) == facts["sha256"]
                   for name, facts in files.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def build_entry(target: Path, fill: Callable[[Path], None]) -> Path:
    """The cache entry at `target`: kept when whole, else built by `fill(staging_folder)` and renamed in.

    Only one builder at a time (a file lock); a broken entry (a kill mid-build in an older kit, a
    truncated file, a hand edit) is removed and built again.
    """
    target = Path(target)
    with locked(target):
        if is_whole(target):
            return target
        sweep(target.parent)
        staging = temp_name(target)
        try:
            staging.mkdir(parents=True)
            fill(staging)
            names = [p.name for p in staging.iterdir() if p.is_file() and p.name != MANIFEST]
            (staging / MANIFEST).write_text(json.dumps(manifest_of(staging, names), indent=1), encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno == errno.EPERM
    return True


def sweep(folder: Path) -> None:
    """Remove temporary files and folders left in `folder` by processes that died mid-write."""
    if not folder.is_dir():
        return
    for leftover in folder.glob(TEMP_PREFIX + "*"):
        pid = leftover.name[len(TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    leftover.unlink()


def folder_size(folder: Path) -> int:
    """Bytes under a folder (files only, links not followed)."""
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def entries(root: Optional[Path] = None) -> List[Tuple[str, int]]:
    """What the cache holds: (folder relative to the cache, bytes), one row per entry, largest first."""
    root = Path(root) if root else cache_dir()
    rows = []
    if root.is_dir():
        for group in sorted(p for p in root.iterdir() if p.is_dir()):
            children = [c for c in group.iterdir() if c.is_dir() and not c.name.startswith(TEMP_PREFIX)]
            if group.name == "hashes" or not children:
                rows.append((group.name, folder_size(group)))
            else:
                rows.extend((f"{group.name}/{c.name}", folder_size(c)) for c in children)
    return sorted(rows, key=lambda row: -row[1])


def clear(root: Optional[Path] = None) -> List[Tuple[str, int]]:
    """Delete everything in the cache; return what was there (as `entries`)."""
    root = Path(root) if root else cache_dir()
    gone = entries(root)
    if root.is_dir():
        for child in root.iterdir():
            try:
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
            except OSError as error:
                raise SourceError(f"Could not delete {child} ({error.strerror}): delete it by hand.") from None
    return gone
