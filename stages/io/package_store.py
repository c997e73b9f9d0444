"""Where article bytes come from in a local mirror of PMC's old ``oa_package/xx/yy/PMC<id>.tar.gz`` files.

Each package is a gzip tar with one folder holding the ``.nxml``, the figures (full-size ``.jpg``
and same-stem ``.gif`` thumbnails) and the PDF. Packages are streamed, never extracted (DESIGN
§5): only regular files are read; a member with an absolute or ``..`` name, a link, a device or a
fifo makes the whole package unsafe; member count and uncompressed bytes are capped while reading,
so a gzip bomb stops at the cap instead of filling memory.

Keys are ``PMC<id>.<ver>/<member base name>``, as in the bucket's per-version layout. gzip cannot
seek, so every read streams the package from its start; the store keeps the image members it
passes in a small per-package cache, so the figures of one article cost one pass.
"""

from __future__ import annotations

import functools
import gzip
import logging
import os
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from stages.io.storage import ObjectNotFound, ObjectTooLarge

log = logging.getLogger(__name__)

PACKAGE_NAME = re.compile(r"^PMC(\d+)\.tar\.gz$")
_KEY = re.compile(r"^PMC(\d+)\.(\d+)/([^/]+)$")
_CACHED_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".gif")
# Tar headers and padding on top of the members' bytes, per member (a backstop for header bombs).
_HEADER_ALLOWANCE = 3 * 512


class PackageError(Exception):
    """A package that cannot be used as a whole; ``reason`` is its drop reason."""

    reason = "package_corrupt"


class PackageUnsafe(PackageError):
    reason = "package_unsafe"


class PackageTooLarge(PackageError):
    reason = "package_too_large"


class PackageCorrupt(PackageError):
    reason = "package_corrupt"


@dataclass(frozen=True)
class PackageLimits:
    max_members: int = 10_000
    max_total_bytes: int = 4 * 1024**3  # uncompressed, all members together
    max_member_bytes: int = 256 * 1024**2  # a member read into memory


@dataclass
class PackageScan:
    """What one pass over a package found: member base names in tar order, the bytes of the wanted
    ones, and ``truncated`` (why the pass ended early) when the package is cut short."""

    path: Path
    members: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    truncated: str | None = None


def find_packages(root: str | Path) -> dict[int, Path]:
    """PMCID number -> package path for every ``PMC<id>.tar.gz`` under ``root`` (symlinked folders
    are not followed). A number found twice keeps the first path in sorted order, with a warning."""
    found: dict[int, Path] = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            match = PACKAGE_NAME.match(name)
            if not match:
                continue
            number, path = int(match.group(1)), Path(folder) / name
            if number in found:
                log.warning("PMC%d has two packages; using %s, ignoring %s", number, found[number], path)
                continue
            found[number] = path
    return found


def check_member(info: tarfile.TarInfo) -> None:
    """Raise ``PackageUnsafe`` unless ``info`` is a regular file or folder with a plain relative name."""
    name = info.name
    parts = PurePosixPath(name).parts
    if not name or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise PackageUnsafe(f"absolute member name {name!r}")
    if ".." in parts or ".." in name.split("\\"):
        raise PackageUnsafe(f"member name escapes the package: {name!r}")
    if info.issym() or info.islnk():
        raise PackageUnsafe(f"link member {name!r} -> {info.linkname!r}")
    if not (info.isreg() or info.isdir()):
        raise PackageUnsafe(f"member {name!r} is not a regular file (tar type {info.type!r})")


class _CappedReader:
    """A file-like view of the gzip stream that raises ``PackageTooLarge`` past ``cap`` bytes.

    It hands out what was decompressed before a cut and raises the cut's ``EOFError`` on the next
    read: ``GzipFile.read(n)`` would drop the partial chunk, losing up to a tar record of complete
    members at the cut.
    """

    def __init__(self, raw: gzip.GzipFile, cap: int):
        self.raw, self.cap, self.total = raw, cap, 0
        self.error: EOFError | None = None

    def read(self, size: int = -1) -> bytes:
        if self.error is not None:
            raise self.error
        chunks, wanted = [], size if size >= 0 else self.cap + 1
        while wanted > 0:
            try:
                piece = self.raw.read1(min(wanted, 1024 * 1024))
            except EOFError as error:
                self.error = error
                break
            if not piece:
                break
            chunks.append(piece)
            wanted -= len(piece)
            self.total += len(piece)
            if self.total > self.cap:
                raise PackageTooLarge(f"more than {self.cap} uncompressed bytes")
        if not chunks and self.error is not None:
            raise self.error
        return b"".join(chunks)


def stream_package(path: Path, limits: PackageLimits, want: Callable[[str, int, int], bool]) -> PackageScan:
    """One pass over ``path``: every member checked, wanted members read into memory.

    ``want(base_name, size, bytes_kept_so_far)`` decides which members are read; members over
    ``limits.max_member_bytes`` never are. Raises ``PackageUnsafe`` or ``PackageTooLarge`` for the
    whole package. A gzip or tar stream cut short is not an error here: the scan keeps the members
    that were complete before the cut and says why it ended in ``truncated``.
    """
    scan = PackageScan(path)
    declared = kept = 0
    pending: tuple[str, int] | None = None  # the member being passed: complete once the next header reads
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as unzipped:
            capped = _CappedReader(unzipped, limits.max_total_bytes + _HEADER_ALLOWANCE * (limits.max_members + 2))
            with tarfile.open(fileobj=capped, mode="r|") as tar:
                for count, info in enumerate(_members(tar), start=1):
                    _commit(scan, pending)
                    pending = None
                    if count > limits.max_members:
                        raise PackageTooLarge(f"more than {limits.max_members} members")
                    check_member(info)
                    if info.isdir():
                        continue
                    declared += info.size
                    if declared > limits.max_total_bytes:
                        raise PackageTooLarge(f"members hold more than {limits.max_total_bytes} bytes (at {info.name!r}, {info.size} bytes)")
                    name = PurePosixPath(info.name).name
                    if name in scan.sizes or (pending and pending[0] == name):
                        log.warning("%s: member name %r appears twice; keeping the first", path, name)
                        continue
                    if info.size <= limits.max_member_bytes and want(name, info.size, kept):
                        handle = tar.extractfile(info)
                        scan.data[name] = handle.read() if handle is not None else b""
                        kept += info.size
                    pending = (name, info.size)
            _commit(scan, pending)
            pending = None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        scan.truncated = f"{type(error).__name__}: {error}"
        if pending is not None:
            scan.data.pop(pending[0], None)
    return scan


def _commit(scan: PackageScan, pending: tuple[str, int] | None) -> None:
    if pending is not None:
        scan.members.append(pending[0])
        scan.sizes[pending[0]] = pending[1]


def _members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    # Iterating a stream-mode TarFile; kept apart so that the error mapping sees every read.
    while (info := tar.next()) is not None:
        yield info


class PackageStore:
    """Read article members out of ``PMC<id>.tar.gz`` packages under ``root`` (see module doc)."""

    def __init__(self, root: str | Path, limits: PackageLimits = PackageLimits(), cache_bytes: int = 64 * 1024**2):
        self.root = Path(root).resolve()
        self.limits = limits
        self.cache_bytes = cache_bytes
        self._index: dict[int, Path] | None = None
        self._cached: PackageScan | None = None

    def package_path(self, pmc_number: int) -> Path:
        if self._index is None:
            self._index = find_packages(self.root)  # one walk of the mirror per worker process
        path = self._index.get(pmc_number)
        if path is None:
            raise ObjectNotFound(f"no package PMC{pmc_number}.tar.gz under {self.root}")
        return path

    def scan_article(self, prefix: str, want: Callable[[str, int, int], bool]) -> PackageScan:
        """A full pass over the package of ``prefix`` (``PMC123.1``), reading the wanted members."""
        number = int(prefix.split(".", 1)[0].removeprefix("PMC"))
        return stream_package(self.package_path(number), self.limits, want)

    def read(self, key: str, max_bytes: int | None = None) -> bytes:
        """The member named by ``PMC<id>.<ver>/<name>``; ``PackageCorrupt`` when it is missing
        because the package is cut short, ``ObjectNotFound`` when the package lacks it."""
        match = _KEY.match(key)
        if not match:
            raise ObjectNotFound(f"not a package member key: {key!r}")
        path, name = self.package_path(int(match.group(1))), match.group(3)
        cap = self.limits.max_member_bytes if max_bytes is None else min(self.limits.max_member_bytes, max_bytes)
        scan = self._cached if self._cached is not None and self._cached.path == path else None
        if scan is not None and name in scan.sizes and name not in scan.data and scan.sizes[name] <= cap:
            scan = None  # listed but not kept within the cache budget: read again
        if scan is None:
            # One full pass keeps every image member within the budget: the article's other figures
            # usually come next, and a miss is then answered without reading the package again.
            def want(member: str, size: int, kept: int) -> bool:
                return member == name or (member.lower().endswith(_CACHED_SUFFIXES) and kept + size <= self.cache_bytes)

            scan = self._cached = stream_package(path, self.limits, want)
        if name in scan.sizes:
            if scan.sizes[name] > cap:
                raise ObjectTooLarge(f"{key}: {scan.sizes[name]} bytes > cap {cap}")
            return scan.data[name]
        if scan.truncated:
            raise PackageCorrupt(f"{path.name} is cut short before any member {name!r} ({scan.truncated}); complete members: {', '.join(scan.members)}")
        raise ObjectNotFound(key)


@functools.lru_cache(maxsize=4)
def cached_package_store(root: str, limits: PackageLimits) -> PackageStore:
    """One store per worker process and root, so its package index and member cache are reused."""
    return PackageStore(root, limits)
