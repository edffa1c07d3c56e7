"""Find a dataset file: offline mirror first, then the local cache, then a verified download.

Every course file is described by a :class:`RemoteFile`. :func:`fetch` resolves it in this order:

1. the offline mirror named by ``$COURSE_DATA_MIRROR`` (layout ``<dataset>/<file>``, possibly
   gzipped, possibly only the head of the canonical file);
2. the local cache (``data/`` in a checkout, or ``$COURSE_DATA_DIR``);
3. a download with pooch: progress bar, temporary file, sha256/md5 check, atomic rename, with
   fallback URLs tried in order.

Files whose hash is known are verified before anything reads them, wherever they come from.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pooch
import requests

MIRROR_ENV = "COURSE_DATA_MIRROR"
CACHE_ENV = "COURSE_DATA_DIR"


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
        member_hash: hash of the extracted member, checked where the archive has none.
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
    mirror_names: tuple[str, ...] = ()
    mirror_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def download_name(self) -> str:
        """Name under which the download is cached (the archive, or the file itself)."""
        return self.archive or self.name


def mirror_dir() -> Path | None:
    """The offline mirror folder from ``$COURSE_DATA_MIRROR``, or ``None`` when unset."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The download cache: ``$COURSE_DATA_DIR``, else ``data/`` of this checkout, else the OS cache."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "data").is_dir():
        return checkout / "data"
    return Path(pooch.os_cache("applied-dl-course"))


def data_source() -> str:
    """``"mirror"`` when the offline mirror is configured and present, else ``"download"``."""
    mirror = mirror_dir()
    return "mirror" if mirror is not None and mirror.is_dir() else "download"


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` matches ``expected`` (``"algo:hex"`` or sha256 hex)."""
    algorithm, _, value = expected.rpartition(":")
    actual = file_hash(path, algorithm or "sha256")
    if actual != value.lower():
        raise ChecksumError(
            f"{path} is corrupt or not the expected file: {algorithm or 'sha256'} {actual} != {value}; "
            "delete it and fetch it again."
        )


def open_text(path: Path, encoding: str = "utf-8") -> IO[str]:
    """Open a text file for reading, transparently gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return open(path, encoding=encoding, newline="")


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


def _from_mirror(remote: RemoteFile) -> Path | None:
    mirror = mirror_dir()
    if mirror is None:
        return None
    for candidate in _mirror_candidates(remote, mirror):
        if candidate.is_file():
            expected = _expected_mirror_hash(remote, candidate)
            if expected is None and not _is_text(candidate):
                raise ChecksumError(
                    f"{candidate} has no recorded checksum, so it is not opened; add its sha256 "
                    "from the mirror's MANIFEST to mirror_hashes in utils/datasets.py."
                )
            if expected is not None:
                verify(candidate, expected)
            return candidate
    return None


def _download(remote: RemoteFile, target_dir: Path) -> Path:
    """Download ``remote`` into ``target_dir``, trying each URL; return the verified file."""
    target_dir.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    checksum_failure: str | None = None
    for url in remote.urls:
        try:
            return Path(
                pooch.retrieve(
                    url,
                    known_hash=remote.known_hash,
                    fname=remote.download_name,
                    path=target_dir,
                    progressbar=True,
                )
            )
        except ValueError as error:  # pooch: hash mismatch; the temporary file is already gone
            checksum_failure = f"{url}: {str(error).splitlines()[0]}"
            failures.append(checksum_failure)
        except requests.exceptions.ChunkedEncodingError:
            failures.append(f"{url}: the transfer broke off before the end")
        except (requests.RequestException, OSError) as error:
            failures.append(f"{url}: {type(error).__name__}")
    destination = target_dir / remote.name
    if checksum_failure is not None:
        raise ChecksumError(
            f"{remote.download_name} downloaded but failed its checksum ({'; '.join(failures)}); "
            f"nothing was kept. Retry later, or put a good copy at {destination}."
        )
    raise DataNotFoundError(
        f"{remote.name} is in neither the mirror nor the cache and could not be downloaded "
        f"(tried {'; '.join(failures)}): set ${MIRROR_ENV} to an offline mirror holding "
        f"{remote.dataset}/{remote.name}, or download {remote.urls[0]} and put it at "
        f"{target_dir / remote.download_name}."
    )


def _extract_member(archive: Path, member: str, destination: Path) -> None:
    """Extract one member of a zip or tar archive to ``destination``, atomically."""
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False, suffix=".part") as tmp:
        tmp_path = Path(tmp.name)
        try:
            if zipfile.is_zipfile(archive):
                with zipfile.ZipFile(archive) as zipped, zipped.open(member) as source:
                    shutil.copyfileobj(source, tmp)
            else:
                with tarfile.open(archive) as tarred:
                    source = tarred.extractfile(member)
                    if source is None:
                        raise DataError(f"{archive} has no regular file {member}")
                    shutil.copyfileobj(source, tmp)
        except (KeyError, zipfile.BadZipFile, tarfile.TarError, EOFError) as error:
            tmp_path.unlink(missing_ok=True)
            raise DataError(
                f"{archive} is damaged or lacks {member} ({error}); delete it and fetch it again."
            ) from error
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
    os.replace(tmp_path, destination)


def fetch(remote: RemoteFile) -> Path:
    """Return a local, verified path to ``remote``: mirror, then cache, then download.

    The path may be gzipped (``*.gz``) or a head of the canonical file when it comes from the
    mirror; readers go through :func:`open_text` or pandas, which handle both.
    """
    mirrored = _from_mirror(remote)
    if mirrored is not None:
        return mirrored
    target_dir = cache_dir() / remote.dataset
    destination = target_dir / remote.name
    if destination.is_file() and remote.archive:  # extracted earlier
        if remote.member_hash:
            verify(destination, remote.member_hash)
        return destination
    downloaded = _download(remote, target_dir)
    if not remote.archive:
        return downloaded
    _extract_member(downloaded, remote.member or remote.name, destination)
    if remote.member_hash:
        try:
            verify(destination, remote.member_hash)
        except ChecksumError:
            destination.unlink(missing_ok=True)
            raise
    return destination
