"""Where a dataset is written: a local folder or ``s3://bucket/prefix`` (boto3; the endpoint from
boto3's own configuration, ``AWS_ENDPOINT_URL``, so a local S3 such as moto_server works).

Files go to a temporary location first (a hidden sibling folder ``.<name>.partial-<run>``, or the
sibling prefix ``<prefix>.partial-<run>/``); ``publish`` moves them into place and writes the
manifest last, so a reader never sees a partial export as complete: a dataset without
``manifest.json`` is not one. Each file is committed with its size and SHA-256 (computed from the
bytes written, before any upload).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecgdash.core.errors import ExportError

MANIFEST = "manifest.json"
_BLOCK = 1 << 20


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the dataset root, '/'-separated
    bytes: int
    sha256: str


def sha256_of(stream: Any) -> tuple[int, str]:
    h, n = hashlib.sha256(), 0
    while block := stream.read(_BLOCK):
        h.update(block)
        n += len(block)
    return n, h.hexdigest()


class Store:
    """A dataset's destination; subclasses are the local folder and S3."""

    uri: str

    def check_empty(self) -> None:
        raise NotImplementedError

    def path(self, rel: str) -> Path:
        """A local file to write `rel` into (created folders included)."""
        raise NotImplementedError

    def commit(self, rel: str) -> FileEntry:
        raise NotImplementedError

    def publish(self, entries: list[FileEntry], manifest: bytes) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        raise NotImplementedError

    # reading a published dataset (verification)
    def read_manifest(self) -> bytes:
        raise NotImplementedError

    def open_read(self, rel: str) -> Any:
        raise NotImplementedError

    def list_files(self) -> list[str]:
        raise NotImplementedError


def open_store(uri: str, run_id: str) -> Store:
    """The store for `uri` (a folder or s3://bucket/prefix); ExportError if it cannot be used."""
    if uri.startswith("s3://"):
        return S3Store(uri, run_id)
    return LocalStore(Path(uri), run_id)


class LocalStore(Store):
    def __init__(self, out: Path, run_id: str) -> None:
        self.out = out.resolve()
        self.uri = str(self.out)
        self.staging = self.out.parent / f".{self.out.name}.partial-{run_id}"

    def check_empty(self) -> None:
        if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
            raise ExportError(f"{self.out} exists and is not an empty folder: choose a new --out")
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create {self.out.parent}: {exc.strerror}") from exc

    def path(self, rel: str) -> Path:
        p = self.staging / rel
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return p

    def commit(self, rel: str) -> FileEntry:
        p = self.staging / rel
        p.chmod(0o600)  # patient data: the exporting user's only
        with p.open("rb") as f:
            n, digest = sha256_of(f)
        return FileEntry(rel, n, digest)

    def publish(self, entries: list[FileEntry], manifest: bytes) -> None:
        self.staging.mkdir(mode=0o700, parents=True, exist_ok=True)
        m = self.staging / MANIFEST
        m.write_bytes(manifest)
        m.chmod(0o600)
        if self.out.exists():
            self.out.rmdir()  # empty (checked at the start)
        os.rename(self.staging, self.out)  # atomic: the dataset appears whole

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)

    def read_manifest(self) -> bytes:
        try:
            return (self.out / MANIFEST).read_bytes()
        except FileNotFoundError as exc:
            raise ExportError(f"{self.out} has no {MANIFEST}: not a complete dataset") from exc

    def open_read(self, rel: str) -> Any:
        return (self.out / rel).open("rb")

    def list_files(self) -> list[str]:
        return sorted(p.relative_to(self.out).as_posix() for p in self.out.rglob("*") if p.is_file())


def parse_s3(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise ExportError(f"{uri!r} is not an s3://bucket/prefix address")
    return bucket, prefix.strip("/")


class S3Store(Store):
    def __init__(self, uri: str, run_id: str) -> None:
        self.uri = uri.rstrip("/")
        self.bucket, self.prefix = parse_s3(uri)
        self.tmp_prefix = f"{self.prefix}.partial-{run_id}" if self.prefix else f".partial-{run_id}"
        self._spool: tempfile.TemporaryDirectory | None = None
        self._client: Any = None

    def __getstate__(self) -> dict:  # Spark ships the store to its tasks: no client, no spool
        return {**self.__dict__, "_spool": None, "_client": None}

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def key(self, rel: str, final: bool = True) -> str:
        base = self.prefix if final else self.tmp_prefix
        return f"{base}/{rel}" if base else rel

    def _call(self, what: str, fn: Any, **kw: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kw)
        except (BotoCoreError, ClientError) as exc:
            raise ExportError(f"{what} s3://{self.bucket}: {str(exc).splitlines()[0]}") from exc

    def check_empty(self) -> None:
        self._call("cannot reach bucket", self.client().head_bucket, Bucket=self.bucket)
        res = self._call("cannot list", self.client().list_objects_v2, Bucket=self.bucket,
                         Prefix=self.key(""), MaxKeys=1)
        if res.get("KeyCount", 0):
            raise ExportError(f"{self.uri}/ already holds objects: choose a new prefix")

    def path(self, rel: str) -> Path:
        if self._spool is None:
            self._spool = tempfile.TemporaryDirectory(prefix="ecgdash-dataset-")
        p = Path(self._spool.name) / rel
        p.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return p

    def commit(self, rel: str) -> FileEntry:
        p = self.path(rel)
        with p.open("rb") as f:
            n, digest = sha256_of(f)
        self._call("cannot upload to", self.client().upload_file, Filename=str(p),
                   Bucket=self.bucket, Key=self.key(rel, final=False))
        p.unlink()  # bounded local disk: one unit's files at a time
        return FileEntry(rel, n, digest)

    def publish(self, entries: list[FileEntry], manifest: bytes) -> None:
        c = self.client()
        for e in entries:
            self._call("cannot publish to", c.copy, CopySource={"Bucket": self.bucket,
                       "Key": self.key(e.path, final=False)}, Bucket=self.bucket, Key=self.key(e.path))
        self._call("cannot publish to", c.put_object, Bucket=self.bucket, Key=self.key(MANIFEST),
                   Body=manifest)
        self.discard()

    def discard(self) -> None:
        c = self.client()
        for keys in self._tmp_keys():
            self._call("cannot clean up", c.delete_objects, Bucket=self.bucket,
                       Delete={"Objects": [{"Key": k} for k in keys]})
        if self._spool is not None:
            self._spool.cleanup()
            self._spool = None

    def _tmp_keys(self) -> Iterator[list[str]]:
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.tmp_prefix + "/")
        for page in pages:
            keys = [o["Key"] for o in page.get("Contents", [])]
            if keys:
                yield keys

    def read_manifest(self) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client().get_object(Bucket=self.bucket, Key=self.key(MANIFEST))["Body"].read()
        except ClientError as exc:
            raise ExportError(f"{self.uri}/ has no readable {MANIFEST}: not a complete dataset "
                              f"({str(exc).splitlines()[0]})") from exc

    def open_read(self, rel: str) -> Any:
        return self._call("cannot read", self.client().get_object, Bucket=self.bucket,
                          Key=self.key(rel))["Body"]

    def list_files(self) -> list[str]:
        out = []
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.key(""))
        for page in pages:
            out += [o["Key"][len(self.key("")):] for o in page.get("Contents", [])]
        return sorted(out)
