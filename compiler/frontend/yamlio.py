"""Safe YAML reading and writing for model files.

Reading uses PyYAML's safe loader (the libyaml C parser when available), hardened for files that
come from users:

* only plain data: mappings, lists, strings, numbers, booleans and null. Any other tag
  (``!!python/object``, ``!!binary``, ``!!set``, timestamps, custom ``!tags``) is rejected;
* duplicate mapping keys are rejected (PyYAML would silently keep the last one);
* the file size is capped (``max_bytes``) before anything is parsed;
* nesting is capped (:data:`MAX_DEPTH` levels) before nodes are composed;
* alias expansion is capped (an "alias bomb" of a few hundred bytes can expand to billions of
  nodes); recursive aliases are rejected.

Every problem is reported as a :class:`fpgac.errors.FpgacError` (a :class:`ModelError` where a key
path is known) whose message names the file, the place (key path or line/column), what was
expected and what was found. ``yaml.load``, ``unsafe_load`` and custom ``Loader=`` arguments are
never used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from fpgac.errors import FpgacError, ModelError

__all__ = ["load_yaml", "dump_yaml", "source_name", "MAX_BYTES"]

#: Default cap on the size of a YAML file, in bytes (64 MiB).
MAX_BYTES = 64 * 1024 * 1024

#: A document may expand (through aliases) to at most this many nodes, or to twice its number of
#: distinct nodes when that is larger.
MAX_EXPANDED_NODES = 1_000_000

#: Deepest nesting of mappings and lists accepted (model files need fewer than 10 levels).
#: libyaml's C composer recurses once per level: a few hundred kilobytes of ``[`` would
#: overflow the C stack and kill the process, so the depth is checked on the event stream first.
MAX_DEPTH = 100

#: Longest integer literal accepted, in characters. Model integers fit in 64 bits (20 digits);
#: Python refuses to convert integers of more than 4,300 digits, so a longer literal would
#: escape as a ValueError from the constructor instead of a message.
MAX_INT_CHARS = 100

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_TAG = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str", "seq", "map", "merge")}


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader; all hardening happens on the composed node graph before construction."""


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """The safe dumper, also accepting NumPy scalars and arrays (written as plain lists)."""


_Dumper.add_multi_representer(np.integer, lambda d, v: d.represent_int(int(v)))
_Dumper.add_multi_representer(np.floating, lambda d, v: d.represent_float(float(v)))
_Dumper.add_multi_representer(np.bool_, lambda d, v: d.represent_bool(bool(v)))
_Dumper.add_representer(np.ndarray, lambda d, v: d.represent_list(v.tolist()))


def source_name(path_or_text: Any) -> str:
    """The name used for ``path_or_text`` in messages: the path as given, or ``<string>``."""
    if isinstance(path_or_text, os.PathLike) or (
            isinstance(path_or_text, str) and path_or_text and "\n" not in path_or_text):
        return os.fspath(path_or_text)
    return "<string>"


def _read(path_or_text: Any, max_bytes: int) -> tuple[bytes | str, str]:
    source = source_name(path_or_text)
    if isinstance(path_or_text, (bytes, bytearray)) or (
            isinstance(path_or_text, str) and source == "<string>"):
        data = path_or_text
        size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
        if size > max_bytes:
            raise ModelError("(file)", f"at most {max_bytes} bytes",
                             f"a document of {size} bytes", source=source)
        return bytes(data) if isinstance(data, bytearray) else data, source
    if not isinstance(path_or_text, (str, os.PathLike)):
        raise ModelError("(file)", "a file path or YAML text",
                         f"an object of type {type(path_or_text).__name__}",
                         source="<argument>")
    path = Path(path_or_text)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ModelError("(file)", f"at most {max_bytes} bytes",
                             f"a file of {size} bytes", source=source)
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise ModelError("(file)", "a readable YAML file",
                         f"an error: {exc.strerror or exc}", source=source) from None
    if len(data) > max_bytes:
        raise ModelError("(file)", f"at most {max_bytes} bytes",
                         f"a file of at least {len(data)} bytes", source=source)
    return data, source


def _child_path(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _check_graph(root: yaml.Node, source: str) -> None:
    """Reject foreign tags, duplicate or non-scalar keys, recursion and alias bombs."""
    allowed = _ALLOWED_TAGS
    scalar_type = yaml.ScalarNode
    seq_type = yaml.SequenceNode

    def bad_tag(node: yaml.Node, path: str) -> ModelError:
        return ModelError(path or "(document)",
                          "plain YAML data (mappings, lists, strings, numbers, booleans, null)",
                          f"a tag {node.tag.replace(_TAG, '!!')}", source=source)

    int_tag = _TAG + "int"

    def check_scalar(node: yaml.ScalarNode, path: str) -> None:
        if node.tag not in allowed:
            raise bad_tag(node, path)
        if node.tag == int_tag and len(node.value) > MAX_INT_CHARS:
            raise ModelError(path or "(document)",
                             f"an integer literal of at most {MAX_INT_CHARS} characters",
                             f"a literal of {len(node.value)} characters at line "
                             f"{node.start_mark.line + 1}", source=source)

    if isinstance(root, scalar_type):
        check_scalar(root, "")
        return
    expanded: dict[int, int] = {}      # id(collection) -> node count once aliases are expanded
    on_stack: set[int] = set()
    references = 0                     # collections reached more than once (alias uses)
    # Iterative post-order walk over collections: (node, path, children_done).
    stack: list[tuple[yaml.Node, str, bool]] = [(root, "", False)]
    while stack:
        node, path, done = stack.pop()
        key = id(node)
        if isinstance(node, seq_type):
            children = node.value
        else:
            children = [n for pair in node.value for n in pair]
        if done:
            on_stack.discard(key)
            total = 1
            for child in children:
                total += 1 if isinstance(child, scalar_type) else expanded[id(child)]
            expanded[key] = total
            continue
        if key in expanded:
            references += 1
            continue
        if key in on_stack:
            raise ModelError(path or "(document)", "a non-recursive document",
                             "an alias that refers to its own parent", source=source)
        if node.tag not in allowed:
            raise bad_tag(node, path)
        on_stack.add(key)
        stack.append((node, path, True))
        if isinstance(node, seq_type):
            for i in range(len(children) - 1, -1, -1):
                child = children[i]
                if isinstance(child, scalar_type):
                    check_scalar(child, f"{path}[{i}]")
                else:
                    stack.append((child, f"{path}[{i}]", False))
            continue
        seen: dict[tuple[str, str], int] = {}
        pushed = []
        for knode, vnode in node.value:
            if not isinstance(knode, scalar_type):
                raise ModelError(path or "(document)", "scalar mapping keys",
                                 f"a {knode.id} as a key at line {knode.start_mark.line + 1}",
                                 source=source)
            if knode.tag == _TAG + "merge":
                child_path = path
            else:
                check_scalar(knode, path)
                line = knode.start_mark.line + 1
                ident = (knode.tag, knode.value)
                if ident in seen:
                    raise ModelError(_child_path(path, knode.value), "each key at most once",
                                     f"a duplicate key at line {line} "
                                     f"(first at line {seen[ident]})", source=source)
                seen[ident] = line
                child_path = _child_path(path, knode.value)
            if isinstance(vnode, scalar_type):
                check_scalar(vnode, child_path)
            else:
                pushed.append((vnode, child_path, False))
        stack.extend(reversed(pushed))
    distinct = len(expanded)
    total = expanded[id(root)]
    limit = max(MAX_EXPANDED_NODES, 2 * distinct)
    if total > limit:
        raise ModelError("(document)", f"at most {limit} nodes after alias expansion",
                         f"a document of {total} nodes ({references} aliases)", source=source)


def _check_depth(data: bytes | str, source: str) -> None:
    """Reject documents nested deeper than :data:`MAX_DEPTH` (non-recursive event scan)."""
    loader = _Loader(data)
    opening = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    closing = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, opening):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1
                    raise ModelError("(document)", f"at most {MAX_DEPTH} levels of nesting",
                                     f"a document nested deeper (level {depth} at line {line})",
                                     source=source)
            elif isinstance(event, closing):
                depth -= 1
    finally:
        loader.dispose()


def load_yaml(path_or_text: Any, *, max_bytes: int = MAX_BYTES) -> object:
    """Parse one YAML document safely.

    Parameters
    ----------
    path_or_text
        A :class:`os.PathLike` or a one-line ``str`` is a file path. ``bytes`` or a ``str``
        containing a newline is YAML text.
    max_bytes
        Files (or texts) larger than this are rejected before parsing.

    Returns
    -------
    object
        Plain Python data: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``.
        An empty document gives ``None``.

    Raises
    ------
    FpgacError
        Unreadable or oversized file, YAML syntax error (with line and column), nesting deeper
        than :data:`MAX_DEPTH`, foreign tag, duplicate key, recursive alias or alias bomb.
        Messages start with the file name.
    """
    data, source = _read(path_or_text, max_bytes)
    loader = None
    try:
        _check_depth(data, source)
        loader = _Loader(data)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_graph(node, source)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        context = f" ({exc.context})" if exc.context else ""
        raise FpgacError(f"{source}: {where}: invalid YAML{context}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise FpgacError(f"{source}: invalid YAML: {detail}") from None
    finally:
        if loader is not None:
            loader.dispose()


def dump_yaml(obj: object, path: str | os.PathLike | None = None, *,
              sort_keys: bool = True) -> str | None:
    """Write ``obj`` as YAML with the safe (C when available) dumper.

    Lists of scalars are written in flow style (``[1, 2, 3]``), everything else in block style.
    Floats are written with ``repr`` so they load back to the identical double. NumPy scalars
    and arrays are accepted and written as plain numbers and lists.

    Parameters
    ----------
    obj
        Plain data (dicts, lists, strings, numbers, booleans, None, NumPy values).
    path
        Destination file; when ``None`` the YAML text is returned instead.
    sort_keys
        Sort mapping keys (what ``yaml.safe_dump`` does by default, and what legacy exports
        look like); ``False`` keeps insertion order.
    """
    text = yaml.dump(obj, Dumper=_Dumper, default_flow_style=None, sort_keys=sort_keys,
                     allow_unicode=True, width=100)
    if path is None:
        return text
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return None
