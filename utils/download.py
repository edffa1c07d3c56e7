"""Find a dataset file: offline mirror first, then the local cache, then a verified download.

Every course file is described by a :class:`RemoteFile`. :func:`fetch` resolves it in this order:

1. the offline mirror named by ``$COURSE_DATA_MIRROR`` (layout ``<dataset>/<file>``, possibly
   gzipped, possibly only the head of the canonical file); a copy with a recorded hash wins over
   one without, and an unverified copy is used only when it is the only one (with a warning);
2. the local cache (``data/`` in a checkout, or ``$COURSE_DATA_DIR``), where every file has a
   sidecar ``<file>.check`` with its hash, size and mtime: a load compares size and mtime, and
   re-hashes only when they differ (a mismatch deletes the file, which is then fetched again);
3. a download: progress bar, temporary file, one overall deadline per file
   (``$COURSE_DOWNLOAD_DEADLINE`` seconds), fallback URLs tried in order, a file lock so that
   concurrent loaders download once. Nothing enters the cache before it is validated: its hash where
   one is known, otherwise it must open as the expected archive and hold the expected member.

Every failure is a :class:`DataError` of one line that says what to do.
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import http.client
import json
import os
import signal
import socket
import tarfile
import threading
import time
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO

import filelock
import pooch
import requests
import urllib3
from tqdm.auto import tqdm

MIRROR_ENV = "COURSE_DATA_MIRROR"
CACHE_ENV = "COURSE_DATA_DIR"
DEADLINE_ENV = "COURSE_DOWNLOAD_DEADLINE"
DEFAULT_DEADLINE = 3600.0  # seconds for one file, all URLs and retries together
STALL_TIMEOUT = 30.0  # seconds without a byte before a URL counts as stalled (capped by the deadline)
CHUNK = 1 << 20


class DataError(RuntimeError):
    """Base class of the data layer's errors: each says what is wrong and how to fix it."""


class DataNotFoundError(DataError):
    """The file is in neither the mirror nor the cache, and could not be downloaded."""


class ChecksumError(DataError):
    """A file's bytes do not match the hash recorded for it."""


class SchemaError(DataError):
    """A loaded table does not have the columns the course expects."""


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable course file and how to check it.

    Attributes:
        dataset: folder in the mirror and in the cache, e.g. ``"salary"``.
        name: canonical name of the file a loader reads, e.g. ``"Train_rev1.csv"``.
        urls: canonical URL first, then fallback mirrors.
        known_hash: pooch-style hash (``"sha256:..."`` or ``"md5:..."``) of what the URLs serve,
            or ``None`` where no hash is published.
        archive: name of the downloaded archive when ``name`` is a member of it.
        member: path of ``name`` inside ``archive``.
        member_hash: hash of the extracted member, checked once per extraction.
        member_max_bytes: upper bound of the member's size: a larger member is refused before a
            byte of it is decompressed (decompression bombs, wrong files).
        member_header: the member's first line (bytes, without the line end), checked when an
            archive without a published hash is validated.
        mirror_names: other names the file may have in the mirror (beyond ``name``/``name.gz``).
        mirror_hashes: sha256 of mirror files (from the mirror's MANIFEST), by file name.
    """

    dataset: str
    name: str
    urls: tuple[str, ...]
    known_hash: str | None = None
    archive: str | None = None
    member: str | None = None
    member_hash: str | None = None
    member_max_bytes: int | None = None
    member_header: bytes | None = None
    mirror_names: tuple[str, ...] = ()
    mirror_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def download_name(self) -> str:
        """Name under which the download is cached (the archive, or the file itself)."""
        return self.archive or self.name


def _env_path(name: str) -> Path | None:
    """``$name`` as a path; a relative one is read from the checkout's root when ``utils`` runs from a
    checkout (as the Makefile reads it), not from the kernel's working directory (``notebooks/``)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if not path.is_absolute() and (checkout / "pyproject.toml").is_file():
        path = checkout / path
    return path


def mirror_dir() -> Path | None:
    """The offline mirror folder from ``$COURSE_DATA_MIRROR``, or ``None`` when unset."""
    return _env_path(MIRROR_ENV)


def cache_dir() -> Path:
    """The download cache: ``$COURSE_DATA_DIR``, else ``data/`` of this checkout, else the OS cache."""
    configured = _env_path(CACHE_ENV)
    if configured is not None:
        return configured
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "data").is_dir():
        return checkout / "data"
    return Path(pooch.os_cache("applied-dl-course"))


def data_source() -> str:
    """``"mirror"`` when the offline mirror is configured and present, else ``"download"``."""
    mirror = mirror_dir()
    return "mirror" if mirror is not None and mirror.is_dir() else "download"


def deadline_seconds() -> float:
    """The overall time allowed to download one file: ``$COURSE_DOWNLOAD_DEADLINE`` or one hour."""
    value = os.environ.get(DEADLINE_ENV, "").strip()
    try:
        seconds = float(value) if value else DEFAULT_DEADLINE
    except ValueError:
        raise DataError(f"${DEADLINE_ENV} must be a number of seconds, not {value!r}") from None
    return seconds if seconds > 0 else DEFAULT_DEADLINE


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _split_hash(expected: str) -> tuple[str, str]:
    algorithm, _, value = expected.rpartition(":")
    return algorithm or "sha256", value.lower()


def verify(path: Path, expected: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` matches ``expected`` (``"algo:hex"`` or sha256 hex)."""
    algorithm, value = _split_hash(expected)
    actual = file_hash(path, algorithm)
    if actual != value:
        raise ChecksumError(
            f"{path} is corrupt or not the expected file: {algorithm} {actual} != {value}; "
            "delete it and fetch it again."
        )


def open_text(path: Path, encoding: str = "utf-8") -> IO[str]:
    """Open a text file for reading, transparently gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


def one_line(error: BaseException) -> str:
    """``Type: first line of the message`` of an exception, for one-line reports."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


# --------------------------------------------------------------------------------------------
# Sidecars: what was verified, so that a later load re-checks cheaply
# --------------------------------------------------------------------------------------------


def sidecar(path: Path) -> Path:
    """The sidecar of a cached file: ``<file>.check`` (JSON: hash, size, mtime)."""
    return path.with_name(path.name + ".check")


def _write_sidecar(path: Path, digest: str) -> None:
    stat = path.stat()
    record = {"hash": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    tmp = sidecar(path).with_name(sidecar(path).name + f".{os.getpid()}.part")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, sidecar(path))


def discard(path: Path) -> None:
    """Delete a cached file and its sidecar (nothing bad stays in the cache)."""
    for each in (path, sidecar(path)):
        try:
            each.unlink(missing_ok=True)
        except OSError:
            pass


def _cached_ok(path: Path, expected: str | None = None) -> bool:
    """Whether ``path`` is in the cache and still what was verified; a bad copy is deleted.

    Size and mtime equal to the sidecar's: trusted. Otherwise the file is hashed again and compared
    with the sidecar (and with ``expected`` where a hash is published); a mismatch deletes it.
    """
    if not path.is_file():
        discard(path)
        return False
    try:
        record = json.loads(sidecar(path).read_text())
        digest = str(record["hash"])
    except (OSError, ValueError, KeyError, TypeError):
        if expected is None:  # no record of what it was: it cannot be trusted
            discard(path)
            return False
        record, digest = {}, expected
    if expected is not None and _split_hash(expected) != _split_hash(digest):
        record, digest = {}, expected  # no sidecar, or the pin changed: verify in full
    stat = path.stat()
    if record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns:
        return True
    algorithm, value = _split_hash(digest)
    if file_hash(path, algorithm) != value:
        discard(path)
        return False
    try:
        _write_sidecar(path, digest)
    except OSError:  # a read-only cache still serves verified files
        pass
    return True


# --------------------------------------------------------------------------------------------
# Mirror
# --------------------------------------------------------------------------------------------

_MIRROR_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> hash, this process


def _mirror_candidates(remote: RemoteFile, mirror: Path) -> list[Path]:
    names = [remote.name, remote.name + ".gz", *remote.mirror_names]
    if remote.archive:
        names.append(remote.archive)
    return [mirror / remote.dataset / name for name in names]


def _expected_mirror_hash(remote: RemoteFile, path: Path) -> str | None:
    if path.name in remote.mirror_hashes:
        return "sha256:" + remote.mirror_hashes[path.name]
    if path.name == remote.download_name and remote.known_hash:
        return remote.known_hash
    if path.name == remote.name and remote.member_hash:
        return remote.member_hash
    return None


def _is_text(path: Path) -> bool:
    """Plain-text formats (optionally gzipped) are parsed, never executed or unpickled."""
    return Path(path.name.removesuffix(".gz")).suffix in {".csv", ".json", ".txt", ".tsv"}


def _verify_mirror(path: Path, expected: str) -> None:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if _MIRROR_VERIFIED.get(key) != expected:
        verify(path, expected)
        _MIRROR_VERIFIED[key] = expected


def _from_mirror(remote: RemoteFile) -> Path | None:
    mirror = mirror_dir()
    if mirror is None:
        return None
    present = [candidate for candidate in _mirror_candidates(remote, mirror) if candidate.is_file()]
    verified = [(path, _expected_mirror_hash(remote, path)) for path in present]
    for path, expected in verified:
        if expected is not None:
            _verify_mirror(path, expected)
            return path
    for path in present:
        if not _is_text(path):
            raise ChecksumError(
                f"{path} has no recorded checksum, so it is not opened; add its sha256 "
                "from the mirror's MANIFEST to mirror_hashes in utils/datasets.py."
            )
        warnings.warn(f"{path} has no recorded checksum; it is used unverified (the only copy)", stacklevel=3)
        return path
    return None


# --------------------------------------------------------------------------------------------
# Temporary files: removed on errors, at exit and on SIGTERM
# --------------------------------------------------------------------------------------------

_TEMPORARY: set[Path] = set()
_PREVIOUS_SIGTERM = None


def _remove_temporary() -> None:
    for path in list(_TEMPORARY):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
        _TEMPORARY.discard(path)


def _on_sigterm(signum, frame) -> None:  # pragma: no cover - exercised in a child process
    _remove_temporary()
    previous = _PREVIOUS_SIGTERM
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    os.kill(os.getpid(), signal.SIGTERM)


@contextmanager
def temporary(path: Path) -> Iterator[Path]:
    """Register ``path`` as a temporary file: deleted when the block fails, at exit and on SIGTERM."""
    global _PREVIOUS_SIGTERM
    installed = False
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGTERM)
        if current is not _on_sigterm:
            _PREVIOUS_SIGTERM = current
            signal.signal(signal.SIGTERM, _on_sigterm)
            installed = True
    _TEMPORARY.add(path)
    try:
        yield path
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        _TEMPORARY.discard(path)
        if installed and not _TEMPORARY:
            signal.signal(signal.SIGTERM, _PREVIOUS_SIGTERM)


atexit.register(_remove_temporary)


def _part_path(final: Path) -> Path:
    return final.with_name(f"{final.name}.{os.getpid()}.{threading.get_ident()}.part")


@contextmanager
def _lock(remote: RemoteFile, target_dir: Path) -> Iterator[None]:
    """Hold the cache's lock for ``remote``: a second process waits, then finds the file there."""
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(target_dir / f".{remote.download_name}.lock"), timeout=deadline_seconds())
        lock.acquire()
    except filelock.Timeout:
        raise DataError(
            f"another process has been fetching {remote.download_name} for more than "
            f"{deadline_seconds():.0f} s; wait for it, or delete {target_dir / ('.' + remote.download_name + '.lock')}"
        ) from None
    except OSError as error:
        raise DataError(
            f"cannot write to the data cache {target_dir} ({one_line(error)}); set ${CACHE_ENV} to a "
            "writable folder"
        ) from None
    try:
        yield
    finally:
        lock.release()


# --------------------------------------------------------------------------------------------
# Download and validation
# --------------------------------------------------------------------------------------------


class _Failure(Exception):
    """One URL failed; ``checksum`` marks bytes that arrived but were wrong."""

    def __init__(self, message: str, checksum: bool = False) -> None:
        super().__init__(message)
        self.checksum = checksum


def _shutdown(response: requests.Response) -> None:
    """Cut a response's connection (the deadline passed while a read was blocked)."""
    for path in ("_connection.sock", "_fp.fp.raw._sock"):
        target = response.raw
        for attribute in path.split("."):
            target = getattr(target, attribute, None)
        if isinstance(target, socket.socket):
            try:
                target.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return


def _stream(url: str, destination: Path, algorithm: str, deadline: float) -> str:
    """Write ``url`` to ``destination`` before ``deadline`` (monotonic); return the digest."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Failure("not tried: the deadline had passed")
    stall = min(STALL_TIMEOUT, remaining)
    digest = hashlib.new(algorithm)
    timer = None
    started = False
    try:
        with requests.get(url, stream=True, timeout=(stall, stall)) as response:
            started = True
            timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _shutdown, (response,))
            timer.daemon = True  # a trickling server cannot outlive the deadline
            timer.start()
            if response.status_code != 200:
                raise _Failure(f"HTTP {response.status_code} {response.reason or ''}".strip())
            if "text/html" in response.headers.get("Content-Type", "").lower():
                raise _Failure("the server sent an HTML page instead of the file (HTTP 200)", checksum=True)
            total = int(response.headers.get("Content-Length") or 0) or None
            encoded = bool(response.headers.get("Content-Encoding"))
            received = 0
            with open(destination, "wb") as out, tqdm(
                total=total, unit="B", unit_scale=True, desc=destination.name.split(".")[0], leave=False
            ) as bar:
                read = getattr(response.raw, "read1", response.raw.read)  # read1: urllib3 >= 2
                while True:
                    chunk = read(CHUNK, decode_content=True)
                    if time.monotonic() > deadline:
                        raise TimeoutError
                    if not chunk:
                        break
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if total is not None and not encoded and received != total:
                raise _Failure(f"the transfer broke off after {received} of {total} bytes")
            if received == 0:
                raise _Failure("the server sent an empty file", checksum=True)
    except (_Failure, DataError):
        raise
    except Exception as error:  # network trouble of any kind, or the deadline's cut
        if isinstance(error, TimeoutError) or time.monotonic() >= deadline - 0.05:
            raise _Failure("timed out (the deadline passed)") from None
        if isinstance(error, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError):
            raise _Failure(f"no byte for {stall:.0f} s") from None
        if isinstance(error, requests.exceptions.ConnectionError) and not started:
            raise _Failure(f"connection failed ({type(error).__name__})") from None
        if isinstance(error, requests.RequestException | urllib3.exceptions.HTTPError | http.client.HTTPException):
            raise _Failure(f"the transfer broke off before the end ({type(error).__name__})") from None
        if isinstance(error, OSError) and error.filename is not None:
            raise DataError(
                f"cannot write {destination} ({one_line(error)}); set ${CACHE_ENV} to a writable folder"
            ) from None
        raise _Failure(f"the transfer broke off before the end ({type(error).__name__})") from None
    finally:
        if timer is not None:
            timer.cancel()
    return digest.hexdigest()


def _member_info(remote: RemoteFile, size: int, where: str) -> None:
    if remote.member_max_bytes is not None and size > remote.member_max_bytes:
        raise _Failure(
            f"{where} holds {remote.member} of {size} bytes, more than its {remote.member_max_bytes} "
            "(not the course's file, or a decompression bomb)",
            checksum=True,
        )


def _check_header(remote: RemoteFile, head: bytes) -> None:
    if remote.member_header is None:
        return
    first = (head.splitlines() or [b""])[0]
    if first.removeprefix(b"\xef\xbb\xbf") != remote.member_header:
        raise _Failure(f"{remote.member} does not start with the canonical header", checksum=True)


def _validate_archive(remote: RemoteFile, path: Path) -> None:
    """An archive without a published hash must open and hold the whole member, bounded in size.

    The member is read to its end (a transfer cut short fails here), its first line is checked where
    the canonical header is known, and its hash where one is published: one pass, nothing written.
    """
    member = remote.member or remote.name
    algorithm, expected = _split_hash(remote.member_hash) if remote.member_hash else ("sha256", None)
    digest = hashlib.new(algorithm)
    try:
        with _member_stream(remote, path) as source:
            head = source.read(len(remote.member_header or b"") + 2)
            _check_header(remote, head)
            digest.update(head)
            for block in iter(lambda: source.read(CHUNK), b""):
                digest.update(block)
    except _Failure:
        raise
    except (DataError, *_ARCHIVE_ERRORS) as error:
        raise _Failure(f"not a valid {remote.download_name} holding {member} ({one_line(error)})",
                       checksum=True) from None
    if expected is not None and digest.hexdigest() != expected:
        raise _Failure(f"{member} in it fails its {algorithm} ({digest.hexdigest()} != {expected})", checksum=True)


def _download(remote: RemoteFile, target_dir: Path, note: str = "") -> Path:
    """Download ``remote`` into ``target_dir`` (caller holds the lock); return the validated file."""
    final = target_dir / remote.download_name
    failures: list[str] = []
    checksum_failed = False
    deadline = time.monotonic() + deadline_seconds()
    algorithm, expected = _split_hash(remote.known_hash) if remote.known_hash else ("sha256", None)
    for url in remote.urls:
        part = _part_path(final)
        try:
            with temporary(part):
                try:
                    digest = _stream(url, part, algorithm, deadline)
                    if expected is not None and digest != expected:
                        raise _Failure(f"{algorithm} {digest} != {expected}", checksum=True)
                    if expected is None and remote.archive:
                        _validate_archive(remote, part)
                except _Failure as failure:
                    failures.append(f"{url}: {failure}")
                    checksum_failed = checksum_failed or failure.checksum
                    raise
                os.replace(part, final)
                _write_sidecar(final, f"{algorithm}:{digest}")
                return final
        except _Failure:
            continue
    tried = "; ".join(failures) or "no URL is known"
    if checksum_failed:
        raise ChecksumError(
            f"{note}{remote.download_name} downloaded but failed its checks ({tried}); nothing was kept. "
            f"Retry later, or download {remote.urls[0]} yourself and put it at {final}."
        )
    if remote.urls and time.monotonic() >= deadline:
        tried += f" (${DEADLINE_ENV} = {deadline_seconds():.0f} s; raise it on a slow connection)"
    where = "is in neither the mirror nor the cache" if not note else "is not in the mirror"
    raise DataNotFoundError(
        f"{note}{remote.name} {where} and could not be downloaded "
        f"(tried {tried}): set ${MIRROR_ENV} to an offline mirror holding "
        f"{remote.dataset}/{remote.name}, or download {remote.urls[0] if remote.urls else 'it'} and put it at "
        f"{final}."
    )


# --------------------------------------------------------------------------------------------
# Archives: members streamed with a bound, extracted once with their hash
# --------------------------------------------------------------------------------------------


class _Bounded:
    """A read-only stream that fails once more than ``limit`` bytes have come out of it."""

    def __init__(self, raw: BinaryIO, limit: int | None, what: str) -> None:
        self.raw, self.limit, self.what, self.count = raw, limit, what, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.count += len(data)
        if self.limit is not None and self.count > self.limit:
            raise DataError(f"{self.what} expands to more than {self.limit} bytes (a decompression bomb?)")
        return data


@contextmanager
def _tar_member(remote: RemoteFile, archive: Path) -> Iterator[BinaryIO]:
    """The member's bytes, streamed from a (compressed) tar in one pass, with every size bounded."""
    member = remote.member or remote.name
    limit = None if remote.member_max_bytes is None else 2 * remote.member_max_bytes + (1 << 20)
    with open(archive, "rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        source: BinaryIO = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw  # type: ignore[assignment]
        with tarfile.open(fileobj=_Bounded(source, limit, archive.name), mode="r|") as tarred:  # type: ignore[arg-type]
            for info in tarred:
                if info.name.lstrip("./") != member.lstrip("./"):
                    continue
                if not info.isfile():
                    raise DataError(f"{archive} has no regular file {member}")
                _member_info(remote, info.size, archive.name)
                handle = tarred.extractfile(info)
                assert handle is not None
                yield handle
                return
    raise KeyError(f"no member {member}")


@contextmanager
def _member_stream(remote: RemoteFile, archive: Path) -> Iterator[BinaryIO]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            info = zipped.getinfo(remote.member or remote.name)
            _member_info(remote, info.file_size, archive.name)
            with zipped.open(info) as source:
                yield source  # type: ignore[misc]
    else:
        with _tar_member(remote, archive) as source:
            yield source


_ARCHIVE_ERRORS = (KeyError, OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError)


@contextmanager
def open_member(remote: RemoteFile, archive: Path) -> Iterator[BinaryIO]:
    """Stream ``remote.member`` out of ``archive`` (zip or tar, gzipped or not) without extracting it.

    A damaged archive is deleted and reported as one :class:`DataError` line.
    """
    try:
        with _member_stream(remote, archive) as source:
            yield source
    except (_Failure, DataError) as failure:
        discard(archive)
        kind = ChecksumError if isinstance(failure, _Failure | ChecksumError) else DataError
        raise kind(f"{failure}; {archive} was deleted, the next call downloads it again") from None
    except _ARCHIVE_ERRORS as error:
        discard(archive)
        raise DataError(
            f"{archive} is damaged or lacks {remote.member or remote.name} ({one_line(error)}); it was deleted, "
            "the next call downloads it again"
        ) from None


def _extract_member(remote: RemoteFile, archive: Path, destination: Path) -> None:
    """Extract one member in one pass: hashed while written, checked, then renamed into place."""
    algorithm, expected = _split_hash(remote.member_hash) if remote.member_hash else ("sha256", None)
    digest = hashlib.new(algorithm)
    part = _part_path(destination)
    with temporary(part):
        with open_member(remote, archive) as source, open(part, "wb") as out:
            for block in iter(lambda: source.read(CHUNK), b""):
                out.write(block)
                digest.update(block)
        if expected is not None and digest.hexdigest() != expected:
            discard(archive)
            raise ChecksumError(
                f"{remote.member} in {archive.name} is not the course's file ({algorithm} "
                f"{digest.hexdigest()} != {expected}); the archive was deleted, the next call downloads it again"
            )
        os.replace(part, destination)
    _write_sidecar(destination, f"{algorithm}:{digest.hexdigest()}")


def fetch_archive(remote: RemoteFile) -> Path:
    """The validated download of ``remote`` (its archive) in the cache, downloaded if need be."""
    target_dir = cache_dir() / remote.dataset
    final = target_dir / remote.download_name
    if remote.archive and not remote.known_hash and final.is_file() and not sidecar(final).is_file():
        try:  # cached before sidecars existed: validated once, then recorded
            _validate_archive(remote, final)
            _write_sidecar(final, "sha256:" + file_hash(final))
        except (_Failure, OSError):
            pass
    existed = final.is_file()
    if _cached_ok(final, remote.known_hash):
        return final
    with _lock(remote, target_dir):
        if _cached_ok(final, remote.known_hash):  # another process got it meanwhile
            return final
        note = f"the cached {final.name} failed its check and was deleted; " if existed else ""
        return _download(remote, target_dir, note)


def cached_member(remote: RemoteFile) -> Path | None:
    """The extracted member in the cache when it is there and still verified, else ``None``."""
    destination = cache_dir() / remote.dataset / remote.name
    return destination if _cached_ok(destination, remote.member_hash) else None


def local_copy(remote: RemoteFile) -> Path | None:
    """The mirror's copy of ``remote``, else its verified file in the cache, else ``None`` (no download)."""
    mirrored = _from_mirror(remote)
    if mirrored is not None:
        return mirrored
    if remote.archive:
        return cached_member(remote)
    final = cache_dir() / remote.dataset / remote.name
    return final if _cached_ok(final, remote.known_hash) else None


def in_mirror(path: Path) -> bool:
    """Whether ``path`` lies in the offline mirror (read-only, maybe a head of the canonical file)."""
    mirror = mirror_dir()
    return mirror is not None and Path(path).resolve().is_relative_to(mirror.resolve())


@contextmanager
def reading(path: Path, remote: RemoteFile | None = None) -> Iterator[None]:
    """Turn a parse error of ``path`` into one :class:`DataError` line; a bad cached copy is deleted.

    With ``remote``, its archive in the cache is deleted too (the member came from it), so the next
    call downloads a fresh copy.
    """
    try:
        yield
    except DataError:
        raise
    except (zlib.error, EOFError, UnicodeDecodeError, ValueError, SyntaxError, OSError, KeyError,
            zipfile.BadZipFile, tarfile.TarError) as error:
        if in_mirror(path):
            raise DataError(
                f"{path} cannot be read ({one_line(error)}); the mirror's copy is damaged: replace it or unset "
                f"${MIRROR_ENV}"
            ) from None
        discard(Path(path))
        if remote is not None:  # the member came from the archive: a bad one goes too (if unverified)
            discard(cache_dir() / remote.dataset / remote.name)
            if remote.known_hash is None:
                discard(cache_dir() / remote.dataset / remote.download_name)
        raise DataError(
            f"{path} cannot be read ({one_line(error)}); it was deleted from the cache, the next call fetches "
            "it again"
        ) from None


def fetch(remote: RemoteFile) -> Path:
    """Return a local, verified path to ``remote``: mirror, then cache, then download.

    The path may be gzipped (``*.gz``) or a head of the canonical file when it comes from the
    mirror; readers go through :func:`open_text` or pandas, which handle both.
    """
    mirrored = _from_mirror(remote)
    if mirrored is not None:
        return mirrored
    if not remote.archive:
        return fetch_archive(remote)
    target_dir = cache_dir() / remote.dataset
    destination = target_dir / remote.name
    if _cached_ok(destination, remote.member_hash):
        return destination
    archive = fetch_archive(remote)
    with _lock(remote, target_dir):
        if not _cached_ok(destination, remote.member_hash):
            _extract_member(remote, archive, destination)
    return destination
