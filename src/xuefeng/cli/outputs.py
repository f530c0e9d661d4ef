"""One output layer for every command that writes: check the target first, write atomically.

Why: a command may run for minutes before it writes; a bad `--out` must be refused before the
work starts, with the same words whichever command it is. And a write must never leave a
half-written file (a crash mid-write keeps the old file or nothing) nor replace what is not a
regular file: `os.replace` over `/dev/null` would, as root, put a regular file in its place.

Rules, for `check_file` (a file to write) and `check_folder` (a folder to fill):
- the path is a sane name: not empty, no NUL, each part at most `NAME_MAX` bytes and the whole
  at most `PATH_MAX` bytes;
- what exists there is of the right kind: a regular file (never a device, socket or pipe), or a folder;
- no part of the way is a file ("under a file");
- missing parent folders are created, but never directly at the filesystem root (a typo such as
  `/nonexistent/out` must not silently make `/nonexistent`);
- the nearest existing folder accepts a new file (probed with a temporary file: the permission
  bits do not tell for root, read-only mounts or full quotas).

Every refusal is a `fail()`: `OPTION PATH: problem`, exit status 2.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xuefeng.cli.errors import fail

NAME_MAX = 255  # bytes in one path part (Linux, macOS, Windows all allow this much)
PATH_MAX = 4096  # bytes in a whole path


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISREG, "a file"), (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "a special file"


def _problem(path: Path, want_folder: bool) -> str | None:
    """What is wrong with writing `path` (a file, or a folder if `want_folder`), or None."""
    text = os.fspath(path)
    if not text.strip():
        return "empty path; give a file or folder name"
    if "\0" in text:
        return "the path contains a NUL character"
    raw = os.fsencode(text)
    if len(raw) > PATH_MAX:
        return f"path is {len(raw):,} bytes long (at most {PATH_MAX:,}); give a shorter one"
    long = next((p for p in path.parts if len(os.fsencode(p)) > NAME_MAX), None)
    if long is not None:
        return (f"name '{long[:40]}…' is {len(os.fsencode(long)):,} bytes long (at most {NAME_MAX}); "
                "give a shorter one")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None  # reported below: a part of the way is a file
    except OSError as exc:
        return f"cannot access ({exc.strerror})"
    if st is not None:
        if want_folder and not stat.S_ISDIR(st.st_mode):
            return f"exists and is not a folder ({_kind(st.st_mode)}); give a folder"
        if not want_folder and not stat.S_ISREG(st.st_mode):
            what = _kind(st.st_mode)
            hint = "give a file name" if what == "a folder" else "it is never replaced; give a regular file"
            return f"is {what}, not a regular file; {hint}"
        return _probe(path if want_folder else path.parent)
    # the target does not exist: find the nearest existing folder on the way
    missing = path.absolute()
    while True:
        parent = missing.parent
        try:
            pst = os.stat(parent)
        except (FileNotFoundError, NotADirectoryError):
            missing = parent
            continue
        except OSError as exc:
            return f"cannot access {parent} ({exc.strerror})"
        if not stat.S_ISDIR(pst.st_mode):
            return f"cannot write: {parent} is {_kind(pst.st_mode)}, not a folder"
        if missing != path.absolute() and parent == Path(parent.anchor):
            return (f"folder {missing} does not exist; create it first (missing folders are not created "
                    "at the filesystem root)")
        return _probe(parent)


def _probe(folder: Path) -> str | None:
    """None if a new file can be made in `folder` (made and removed at once)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".xuefeng-write-test-", dir=folder)
    except OSError as exc:
        return f"cannot write in {folder} ({exc.strerror or exc})"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def check_file(path: Path, option: str = "--out", suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse (exit 2) a file path that cannot be written; return it. `suffixes`: allowed endings."""
    if suffixes and path.suffix.lower() not in suffixes:
        fail(f"{option} {path}: give a file name ending in {' or '.join(suffixes)}")
    problem = _problem(path, want_folder=False)
    if problem:
        fail(f"{option} {path}: {problem}")
    return path


def check_folder(path: Path, option: str = "--out") -> Path:
    """Refuse (exit 2) a folder path that cannot be created or filled; return it."""
    problem = _problem(path, want_folder=True)
    if problem:
        fail(f"{option} {path}: {problem}")
    return path


def make_parents(path: Path, option: str = "--out") -> None:
    """Create the missing folders above `path` (checked by `check_file`/`check_folder` first)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"{option} {path}: cannot create folder {path.parent} ({exc.strerror or exc})")


@contextlib.contextmanager
def atomic_file(path: Path, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary path beside `path` (same suffix, so writers that infer the format still do);
    on success move it into place with one `os.replace`, on any error remove it and leave `path` alone.

    An OSError while writing becomes the layer's refusal (exit 2); the target is checked again just
    before the replace, so a device put there meanwhile is still never replaced.
    """
    make_parents(path, option)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.stem[:100]}-", suffix=path.suffix[:50], dir=path.parent)
    except OSError as exc:
        fail(f"{option} {path}: cannot write in {path.parent} ({exc.strerror or exc})")
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            yield tmp
            problem = _problem(path, want_folder=False)
            if problem:
                fail(f"{option} {path}: {problem}")
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the result should not be
            with open(tmp, "rb") as fh:  # on disk before it takes the name: a crash leaves old or new
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            fail(f"{option} {path}: cannot write ({exc.strerror or exc}); nothing was written there")
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_text(path: Path, text: str, option: str = "--out") -> None:
    """Write `text` (UTF-8) to `path` atomically (see `atomic_file`)."""
    with atomic_file(path, option) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
