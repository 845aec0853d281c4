"""The manifest: what a dataset holds and how to check it (query, time range, cohort, counts per
patient, schema and code versions, a SHA-256 per file). Written last; ``verify`` re-hashes every
file and flags missing, changed and unlisted ones."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from ecgdash.core.dataset.layout import SCHEMA_VERSION
from ecgdash.core.storage import MANIFEST, FileEntry, Store, sha256_of

KIND = "ecgdash-dataset"


def build(query: dict[str, Any], cohort: list[dict[str, Any]], counts: dict[str, dict[str, int]],
          files: list[FileEntry], code_version: str, created_at: str, engine: str) -> bytes:
    totals: dict[str, int] = {}
    for c in counts.values():
        for k, v in c.items():
            totals[k] = totals.get(k, 0) + v
    doc = {
        "kind": KIND, "schema_version": SCHEMA_VERSION, "code_version": code_version,
        "created_at": created_at, "engine": engine, "query": query,
        "time_range": {"start": query["start"], "end": query["end"]}, "cohort": cohort,
        "counts": counts, "totals": totals,
        "files": [asdict(f) for f in sorted(files, key=lambda f: f.path)],
    }  # fmt: skip
    return (json.dumps(doc, indent=1, sort_keys=False) + "\n").encode()


def verify(store: Store) -> tuple[dict[str, Any], list[str]]:
    """(manifest, problems): every listed file present with its size and SHA-256, none unlisted."""
    doc = json.loads(store.read_manifest())
    problems = []
    if doc.get("kind") != KIND:
        problems.append(f"not an ecgdash dataset manifest (kind {doc.get('kind')!r})")
    if doc.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema version {doc.get('schema_version')}, this code reads {SCHEMA_VERSION}")
    listed = {f["path"]: f for f in doc.get("files", [])}
    present = set(store.list_files()) - {MANIFEST}
    for path in sorted(set(listed) - present):
        problems.append(f"missing: {path}")
    for path in sorted(present - set(listed)):
        problems.append(f"not in the manifest: {path}")
    for path in sorted(set(listed) & present):
        with store.open_read(path) as f:
            n, digest = sha256_of(f)
        want = listed[path]
        if n != want["bytes"] or digest != want["sha256"]:
            problems.append(f"changed: {path} ({n} bytes, sha256 {digest[:12]}; manifest "
                            f"{want['bytes']} bytes, {want['sha256'][:12]})")
    return doc, problems
