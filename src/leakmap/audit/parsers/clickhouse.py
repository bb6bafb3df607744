"""ClickHouse server configuration (XML and YAML), merged the way the server merges it.

Takes ``config.xml``/``config.yaml``/``config.yml`` (and any XML file whose root element is
``<clickhouse>`` or ``<yandex>``), ``users.xml``/``users.yaml``/``users.yml``. For a main
file the server merges, in name order, every ``*.xml``/``*.yaml``/``*.yml`` of
``<stem>.d/`` (``config.d/``, ``users.d/``) and, for the server config, ``conf.d/``:

* an element of the overlay replaces the base element of the same name when it carries
  ``replace="replace"``, deletes it with ``remove="remove"``, and is merged into it
  otherwise (a leaf's text replaces the base text); an element without a counterpart is
  appended;
* ``incl="NAME"`` takes the children of ``NAME`` in the ``include_from`` file (default
  ``/etc/metrika.xml``, used only when it exists); ``optional="true"`` makes a missing one
  silent; ``from_env``/``from_zk`` values are unknown offline (never read as empty).

The users file is the server config's ``<users_config>`` (default ``users.xml`` next to
it). Every element keeps the file and line it came from, so a finding points at the
element that decides it, also after merging. XML with a DOCTYPE (entities) is refused.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from leakmap.audit.model import ParseError
from leakmap.audit.parsers.common import read_text
from leakmap.audit.parsers.yamlsource import LineDict, LineList, load_one

__all__ = [
    "ClickHouseConfig",
    "Node",
    "is_main_config",
    "load_clickhouse",
    "merge",
    "parse_file",
    "takes",
]

NAME = "clickhouse"
ROOT_TAGS = ("clickhouse", "yandex", "config")
MAIN_NAMES = ("config.xml", "config.yaml", "config.yml")
USERS_NAMES = ("users.xml", "users.yaml", "users.yml")
MERGE_DIRS = ("config.d", "conf.d", "users.d")
_SUFFIXES = (".xml", ".yaml", ".yml")


@dataclass(slots=True)
class Node:
    """An element: tag, attributes, text, children, and where it came from."""

    tag: str
    path: str
    line: int
    attrib: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: list[Node] = field(default_factory=list)

    def find(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str) -> str | None:
        """The stripped text of the first child ``tag``; None when there is none."""
        child = self.find(tag)
        return None if child is None else child.text.strip()

    @property
    def unknown(self) -> bool:
        """Its value comes from the environment or ZooKeeper: unknown offline."""
        return "from_env" in self.attrib or "from_zk" in self.attrib

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def _parse_xml(text: str, source: str) -> Node:
    parser = expat.ParserCreate()
    stack: list[Node] = []
    root: list[Node] = []

    def doctype(*_: Any) -> None:
        raise ParseError("a DOCTYPE (entities) is not accepted", parser.CurrentLineNumber)

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag=tag, path=source, line=parser.CurrentLineNumber, attrib=dict(attrs))
        if stack:
            stack[-1].children.append(node)
        else:
            root.append(node)
        stack.append(node)

    def end(_: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise ParseError(f"not valid XML ({expat.errors.messages[exc.code]})", exc.lineno) from None
    if not root:
        raise ParseError("no root element")
    return root[0]


def _from_yaml(tag: str, value: Any, source: str, line: int) -> list[Node]:
    if isinstance(value, LineList):
        out: list[Node] = []
        for item, item_line in zip(value, value.item_lines, strict=False):
            out += _from_yaml(tag, item, source, item_line)
        return out
    node = Node(tag=tag, path=source, line=line)
    if isinstance(value, LineDict):
        for key, child in value.items():
            name = str(key)
            key_line = value.lines.get(key, line)
            if name.startswith("@"):
                node.attrib[name[1:]] = "" if child is None else str(child)
            elif name == "#text":
                node.text = "" if child is None else str(child)
            else:
                node.children += _from_yaml(name, child, source, key_line)
    elif value is not None:
        node.text = str(value).lower() if isinstance(value, bool) else str(value)
    return [node]


def parse_file(path: Path, source: str | None = None) -> Node:
    """One file as a tree (its root element; a YAML file gets a ``clickhouse`` root)."""
    shown = source or str(path)
    text = read_text(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        data = load_one(text)
        if data is None:
            return Node(tag="clickhouse", path=shown, line=1)
        if not isinstance(data, LineDict):
            raise ParseError("a ClickHouse YAML config must be a mapping", 1)
        if len(data) == 1 and next(iter(data)) in ROOT_TAGS:  # an explicit root key
            key = next(iter(data))
            inner = data[key]
            if isinstance(inner, LineDict):
                return _from_yaml(str(key), inner, shown, data.lines[key])[0]
        return _from_yaml("clickhouse", data, shown, 1)[0]
    return _parse_xml(text, shown)


def merge(base: Node, overlay: Node) -> None:
    """Merge ``overlay`` into ``base`` in place (the server's rules, see the module doc)."""
    used: set[int] = set()
    for child in overlay.children:
        match = next((c for c in base.children if c.tag == child.tag and id(c) not in used), None)
        if "remove" in child.attrib:
            if match is not None:
                base.children.remove(match)
            continue
        if match is None:
            clone = copy.deepcopy(child)
            base.children.append(clone)
            used.add(id(clone))
            continue
        used.add(id(match))
        if "replace" in child.attrib:
            clone = copy.deepcopy(child)
            base.children[base.children.index(match)] = clone
            used.add(id(clone))
            continue
        if child.children:
            merge(match, child)
        elif child.text.strip() or not match.children:
            match.text = child.text
            match.path, match.line = child.path, child.line
        match.attrib.update({k: v for k, v in child.attrib.items() if k not in ("replace",)})


def _merge_dir_files(main: Path) -> list[Path]:
    dirs = [main.parent / f"{main.stem}.d"]
    if main.name in MAIN_NAMES:
        dirs.append(main.parent / "conf.d")
    out: list[Path] = []
    for directory in dirs:
        if directory.is_dir():
            out += sorted(
                p for p in directory.iterdir() if p.suffix.lower() in _SUFFIXES and p.is_file()
            )
    return out


def _substitute(root: Node, include: Node | None, notes: list[str]) -> None:
    for node in list(root.walk()):
        name = node.attrib.get("incl")
        if not name:
            continue
        found = include.find(name) if include is not None else None
        if found is None:
            # Without an include file the server keeps the element as written.
            optional = node.attrib.get("optional", "").lower() in ("true", "1")
            if include is not None and not optional:
                notes.append(f"{node.path}:{node.line}: incl={name!r} not found")
            continue
        node.children = copy.deepcopy(found.children) + (
            [] if "replace" in node.attrib else node.children
        )
        if found.text.strip():
            node.text = found.text


@dataclass(slots=True)
class ClickHouseConfig:
    """A server config and its users config, each merged; ``files`` lists every file read."""

    server: Node | None
    users: Node | None
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def sections(self, tag: str) -> list[Node]:
        """``tag`` sections (users, profiles) from the users file, then the server config."""
        out = []
        for root in (self.users, self.server):
            if root is not None:
                found = root.find(tag)
                if found is not None:
                    out.append(found)
        return out


def _load_merged(path: Path, display: str, files: list[str], notes: list[str]) -> Node:
    root = parse_file(path, display)
    files.append(display)
    for extra in _merge_dir_files(path):
        shown = str(Path(display).parent / extra.parent.name / extra.name)
        try:
            merge(root, parse_file(extra, shown))
        except ParseError as exc:
            notes.append(f"{exc.where(shown)}: skipped: {exc.message}")
            continue
        files.append(shown)
    return root


def load_clickhouse(path: Path, display: str | None = None) -> ClickHouseConfig:
    """Load a server config (with its users config) or a users config alone."""
    shown = display or str(path)
    files: list[str] = []
    notes: list[str] = []
    root = _load_merged(path, shown, files, notes)
    if not is_server_config(root):
        if path.name in USERS_NAMES or root.find("users") is not None:
            return ClickHouseConfig(server=None, users=root, files=files, notes=notes)
        return ClickHouseConfig(server=None, users=None, files=files, notes=notes)
    include_from = root.value("include_from") or "/etc/metrika.xml"
    include_path = Path(include_from)
    if not include_path.is_absolute():
        include_path = path.parent / include_path
    include = None
    if include_path.is_file():
        files.append(str(Path(shown).parent / include_from))
        try:
            include = parse_file(include_path)
        except ParseError as exc:
            notes.append(f"{exc.where(str(include_path))}: include_from skipped: {exc.message}")
    _substitute(root, include, notes)
    users = None
    users_name = root.value("users_config") or "users.xml"
    users_path = Path(users_name)
    if not users_path.is_absolute():
        users_path = path.parent / users_path
    users_shown = str(Path(shown).parent / users_name)
    if users_path.is_file() and users_path.resolve() != path.resolve():
        try:
            users = _load_merged(users_path, users_shown, files, notes)
            _substitute(users, include, notes)
        except ParseError as exc:
            notes.append(f"{exc.where(users_shown)}: users config skipped: {exc.message}")
    return ClickHouseConfig(server=root, users=users, files=files, notes=notes)


_SERVER_KEYS = {
    "listen_host",
    "http_port",
    "tcp_port",
    "https_port",
    "interserver_http_port",
    "users_config",
    "logger",
    "path",
    "mysql_port",
    "postgresql_port",
}


def is_server_config(root: Node) -> bool:
    return any(child.tag in _SERVER_KEYS for child in root.children)


def is_main_config(path: Path) -> bool:
    return path.name in MAIN_NAMES or path.name in USERS_NAMES


def takes(path: Path, head: str) -> bool:
    """A ClickHouse config by name, by place (config.d/…) or by its root element."""
    name = path.name.lower()
    if name in MAIN_NAMES or name in USERS_NAMES:
        return True
    if path.parent.name in MERGE_DIRS and path.suffix.lower() in _SUFFIXES:
        return True
    if path.suffix.lower() == ".xml":
        body = head.lstrip("\ufeff \t\r\n")
        while body.startswith("<?") or body.startswith("<!--"):
            end = body.find("?>") + 2 if body.startswith("<?") else body.find("-->") + 3
            if end < 3:
                return False
            body = body[end:].lstrip()
        return any(body.startswith(f"<{tag}") for tag in ROOT_TAGS)
    return False
