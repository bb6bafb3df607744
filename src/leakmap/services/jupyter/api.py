"""Reading a Jupyter Server (Notebook, JupyterLab) over its REST API - read-only, bounded.

:func:`read_jupyter` gathers :class:`JupyterFacts` with GET requests only:

* ``/api`` - ``{"version": ...}``; it answers without a token by design and proves nothing
  about access;
* ``/api/status`` - ``kernels`` and ``connections`` as integers, then the root directory model
  of ``/api/contents``: the proof of open access (``403``/``401`` = a token or password is
  required; the login page tells token from password);
* ``/api/contents`` - a breadth-first walk bounded in depth, directories, entries, files and
  bytes; notebooks are read as raw text (``type=file``) - no notebook model, no trust
  database, no checkpoint - and their cell sources and outputs sampled; other text files by
  extension;
* ``/api/kernels``, ``/api/sessions``, ``/api/terminals``, ``/api/kernelspecs`` - what runs and
  what can be started;
* ``/api/me?permissions=...`` - Jupyter Server 2's identity API answers which actions the
  caller is authorised for (``kernels: execute``, ``terminals: execute``, ``contents: write``)
  without doing any of them.

Nothing is started, written or saved. Every string here came from the server: hostile.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from leakmap.services.base import AuthState
from leakmap.services.httpapi import HttpApi, as_dict, as_int, as_list, as_str, quote_path

__all__ = [
    "FileSample",
    "JupyterFacts",
    "WalkLimits",
    "notebook_texts",
    "parse_version",
    "read_jupyter",
]

_VERSION = re.compile(r"^\d{1,4}\.\d{1,4}(?:\.\d{1,6})?[0-9A-Za-z.+-]{0,32}$")
_TEXT_SUFFIXES = frozenset(
    (
        *(".py", ".txt", ".md", ".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".log"),
        *(".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".env", ".sh", ".sql", ".r"),
        *(".jl", ".js", ".ts", ".xml", ".properties", ".tf", ".tfvars", ".pem", ".key", ".rst"),
    )
)
_PERMISSIONS = {
    "kernels": ["execute", "read"],
    "terminals": ["execute"],
    "contents": ["read", "write"],
    "sessions": ["write"],
}
_MAX_TEXT = 64 * 1024


@dataclass(frozen=True, slots=True)
class WalkLimits:
    """Bounds of the ``/api/contents`` walk and the sample."""

    max_depth: int = 4
    max_dirs: int = 40
    max_entries: int = 2000
    max_files: int = 40
    max_file_bytes: int = 512 * 1024
    max_total_bytes: int = 8 * 1024 * 1024


@dataclass(slots=True)
class FileSample:
    """One file read from the server: its path, kind and the texts to classify."""

    path: str
    kind: str  # "notebook" | "file"
    size: int | None
    texts: list[str] = field(default_factory=list)
    cells: int | None = None
    truncated: bool = False


@dataclass(slots=True)
class JupyterFacts:
    version: str | None = None
    auth: AuthState = AuthState.UNKNOWN
    #: "none" | "token" | "password" | None (could not tell)
    auth_mode: str | None = None
    root_writable: bool | None = None
    files: list[FileSample] = field(default_factory=list)
    dirs_walked: int = 0
    entries_listed: int = 0
    kernels: list[tuple[str, str]] = field(default_factory=list)  # (id, kernel name)
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (path, kernel name)
    terminals: list[str] | None = None  # None: terminals API absent / unknown
    kernelspecs: list[str] | None = None
    kernelspec_env: list[str] = field(default_factory=list)
    permissions: dict[str, list[str]] | None = None
    notes: list[str] = field(default_factory=list)


def parse_version(body: Any) -> str | None:
    """The version from ``/api``'s ``{"version": "2.21.1"}``; None for anything else."""
    version = as_str(as_dict(body).get("version"), 64)
    return version if version and _VERSION.match(version) else None


def _lines(value: Any) -> str:
    """nbformat multiline strings are a string or a list of strings."""
    if isinstance(value, str):
        return value[:_MAX_TEXT]
    if isinstance(value, list):
        return "".join(v for v in value[:5000] if isinstance(v, str))[:_MAX_TEXT]
    return ""


def notebook_texts(nb: Any, *, max_cells: int = 500) -> tuple[list[str], int] | None:
    """Cell sources and outputs of a parsed notebook; None when it is not one (nbformat 4,
    or 3's worksheets). Outputs: stream text, ``text/*`` and JSON data, error values."""
    doc = as_dict(nb)
    cells = doc.get("cells")
    if cells is None and isinstance(doc.get("worksheets"), list):
        cells = [c for ws in doc["worksheets"][:10] for c in as_list(as_dict(ws).get("cells"))]
    if not isinstance(cells, list):
        return None
    texts: list[str] = []
    for cell in cells[:max_cells]:
        c = as_dict(cell)
        source = _lines(c.get("source", c.get("input")))
        if source.strip():
            texts.append(source)
        for out in as_list(c.get("outputs"))[:50]:
            o = as_dict(out)
            for key in ("text", "evalue"):
                text = _lines(o.get(key))
                if text.strip():
                    texts.append(text)
            if o.get("traceback"):
                texts.append(_lines(o.get("traceback")))
            for mime, value in list(as_dict(o.get("data")).items())[:20]:
                if mime.endswith("json") and not isinstance(value, str):
                    texts.append(json.dumps(value)[:_MAX_TEXT])
                elif mime.startswith("text/") or mime.endswith(("json", "javascript")):
                    text = _lines(value)
                    if text.strip():
                        texts.append(text)
    return texts, min(len(cells), max_cells)


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _wanted(name: str) -> str | None:
    """ "notebook", "file" (text worth sampling) or None."""
    suffix = _suffix(name)
    if suffix == ".ipynb":
        return "notebook"
    if suffix in _TEXT_SUFFIXES or name.lower() in ("dockerfile", "makefile", "readme"):
        return "file"
    return None


async def _auth_mode(api: HttpApi) -> str | None:
    page = await api.text("/login", limit=64 * 1024)
    if page is None or page.status != 200:
        return None
    text = page.text()
    if "Token authentication is enabled" in text:
        return "token"
    if 'name="password"' in text:
        return "password"
    return None


async def read_jupyter(
    api: HttpApi, limits: WalkLimits | None = None, facts: JupyterFacts | None = None
) -> JupyterFacts:
    """Everything the API shows this caller, within ``limits``; never raises for what the
    server sends (odd answers become notes and ``unknown``)."""
    limits = limits or WalkLimits()
    facts = facts if facts is not None else JupyterFacts()
    facts.version = parse_version((await api.get("/api")).body)
    status = await api.get("/api/status")
    body = as_dict(status.body)
    if (
        status.status == 200
        and as_int(body.get("kernels")) is not None
        and as_int(body.get("connections")) is not None
    ):
        # the proof also needs the root directory model (a second documented shape)
        root = await api.get("/api/contents", {"content": "0"})
        model = as_dict(root.body)
        if root.status != 200 or model.get("type") != "directory" or "kernels" in model:
            facts.notes.append(f"/api/contents answered {root.status or 'nothing usable'}")
            return facts
        facts.auth = AuthState.NONE
        facts.auth_mode = "none"
    elif status.status in (401, 403):
        facts.auth = AuthState.REQUIRED
        facts.auth_mode = await _auth_mode(api)
        if facts.auth_mode is not None:
            facts.notes.append(f"login: {facts.auth_mode}")
        return facts
    else:
        facts.notes.append(f"/api/status answered {status.status or 'nothing usable'}")
        return facts
    await _read_runtime(api, facts)
    await _walk(api, facts, limits)
    return facts


async def _read_runtime(api: HttpApi, facts: JupyterFacts) -> None:
    me = await api.get("/api/me", {"permissions": json.dumps(_PERMISSIONS)})
    perms = as_dict(me.field("permissions"))
    if me.status == 200 and perms:
        facts.permissions = {
            str(k)[:32]: [a[:32] for a in as_list(v) if isinstance(a, str)][:8]
            for k, v in list(perms.items())[:16]
            if k in _PERMISSIONS
        }
    kernels = await api.get("/api/kernels")
    for k in as_list(kernels.body)[:200]:
        kid, name = as_str(as_dict(k).get("id"), 64), as_str(as_dict(k).get("name"), 64)
        if kid:
            facts.kernels.append((kid, name or "?"))
    sessions = await api.get("/api/sessions")
    for s in as_list(sessions.body)[:200]:
        d = as_dict(s)
        path = as_str(d.get("path"), 512) or as_str(as_dict(d.get("notebook")).get("path"), 512)
        name = as_str(as_dict(d.get("kernel")).get("name"), 64)
        if path:
            facts.sessions.append((path, name or "?"))
    terminals = await api.get("/api/terminals")
    if terminals.status == 200 and isinstance(terminals.body, list):
        facts.terminals = [
            t for t in (as_str(as_dict(x).get("name"), 64) for x in terminals.body[:200]) if t
        ]
    specs = await api.get("/api/kernelspecs")
    spec_map = as_dict(specs.field("kernelspecs"))
    if specs.status == 200 and isinstance(specs.field("kernelspecs"), dict):
        facts.kernelspecs = [str(name)[:64] for name in list(spec_map)[:50]]
        for spec in list(spec_map.values())[:50]:
            env = as_dict(as_dict(as_dict(spec).get("spec")).get("env"))
            for key, value in list(env.items())[:50]:
                if isinstance(value, str) and value:
                    facts.kernelspec_env.append(f"{str(key)[:128]}={value[:4096]}")


async def _walk(api: HttpApi, facts: JupyterFacts, limits: WalkLimits) -> None:
    queue: deque[tuple[str, int]] = deque([("", 0)])
    wanted: list[tuple[int, str, str, int | None]] = []  # (priority, path, kind, size)
    while queue and facts.dirs_walked < limits.max_dirs:
        path, depth = queue.popleft()
        listing = await api.get(f"/api/contents/{quote_path(path)}", {"content": "1"})
        model = as_dict(listing.body)
        if listing.status != 200 or model.get("type") != "directory":
            facts.notes.append(f"contents listing of a directory answered {listing.status}")
            continue
        facts.dirs_walked += 1
        if path == "" and isinstance(model.get("writable"), bool):
            facts.root_writable = model["writable"]
        for entry in as_list(model.get("content")):
            if facts.entries_listed >= limits.max_entries:
                facts.notes.append(f"walk stopped at {limits.max_entries} entries")
                queue.clear()
                break
            facts.entries_listed += 1
            e = as_dict(entry)
            child, kind, name = as_str(e.get("path"), 1024), e.get("type"), as_str(e.get("name"))
            if not child or not name:
                continue
            if kind == "directory":
                if depth + 1 <= limits.max_depth:
                    queue.append((child, depth + 1))
                continue
            want = "notebook" if kind == "notebook" else _wanted(name)
            if want is not None:
                wanted.append((0 if want == "notebook" else 1, child, want, as_int(e.get("size"))))
    if queue:
        facts.notes.append(f"walk stopped at {limits.max_dirs} directories")
    wanted.sort(key=lambda w: (w[0], w[1]))
    read_bytes = 0
    for _, path, kind, size in wanted:
        if len(facts.files) >= limits.max_files:
            facts.notes.append(f"sampled the first {limits.max_files} files only")
            break
        if size is not None and size > limits.max_file_bytes:
            continue
        room = min(limits.max_file_bytes, limits.max_total_bytes - read_bytes)
        if room <= 0:
            facts.notes.append("file sample byte budget spent")
            break
        sample = await _read_file(api, path, kind, size, room)
        if sample is not None:
            read_bytes += sum(len(t) for t in sample.texts)
            facts.files.append(sample)


async def _read_file(
    api: HttpApi, path: str, kind: str, size: int | None, room: int
) -> FileSample | None:
    params = {"type": "file", "format": "text", "content": "1"}
    answer = await api.get(f"/api/contents/{quote_path(path)}", params, limit=room + 4096)
    model = as_dict(answer.body)
    content = model.get("content")
    if answer.status != 200 or not isinstance(content, str):
        return None
    if kind == "notebook":
        try:
            parsed = json.loads(content)
        except (ValueError, RecursionError):
            parsed = None
        found = notebook_texts(parsed)
        if found is not None:
            texts, cells = found
            return FileSample(path, "notebook", size, texts, cells=cells)
    return FileSample(path, "file", size, [content[: 4 * _MAX_TEXT]])
