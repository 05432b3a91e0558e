"""Model-file fuzzing: mutated legacy and fpgac-format YAML must fail cleanly or load.

:func:`fuzz_loader` writes valid seed files (random models from :mod:`fpgac.sim.randmodel`,
saved by :mod:`fpgac.compiler.frontend` in the legacy dense/COO and own coo/dense/csr/csc
layouts), mutates each one many ways and runs :func:`fpgac.compiler.frontend.load_model` on every
mutant in a **separate worker process** with a per-file time limit (``SIGALRM``) and an
address-space limit (``RLIMIT_AS``). Every outcome is classified:

``loaded``
    The mutant was still a valid model (the loaded model must then run in the golden model).
``rejected``
    :class:`~fpgac.errors.FpgacError` with a non-empty one-line message naming a path,
    ``expected`` and ``found`` (or a file-level message).
``crash``
    Any other exception (including ``MemoryError`` and ``RecursionError``).
``hang``
    The per-file time limit expired.
``silent``
    An ``FpgacError`` with an empty or multi-line message.

Contract: the mutants are a pure function of ``(seed, count)``; the result lists counts per
outcome, per mutation kind, the worst per-file time, the worker's peak RSS and the first few
failures with their mutation, so a failure can be regenerated with :func:`make_mutant`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

__all__ = ["MUTATIONS", "seed_files", "make_mutant", "fuzz_loader", "FuzzResult"]

#: every mutation kind :func:`make_mutant` can apply
MUTATIONS = (
    "wrong_type", "delete_key", "add_key", "nan_inf", "huge_int", "negative", "huge_size",
    "shape_mismatch", "bad_index", "dup_index", "truncate", "byte_flip", "alias_bomb",
    "python_tag", "dup_key", "empty", "deep_nesting", "bad_utf8", "swap_values", "float_int",
    "long_string", "bool_for_int", "list_for_map", "long_literal",
)

_WEIRD = [None, True, "x", "", 1.5, float("nan"), float("inf"), -float("inf"), -1, 0, 2 ** 70,
          -(2 ** 70), [], {}, [1, [2]], {"a": 1}, "1e9999", 10 ** 400]


def seed_files(directory: Path, seed: int = 0) -> list[Path]:
    """Write the valid seed corpus (legacy + own formats) into ``directory``."""
    from ..compiler.frontend import save_legacy, save_model
    from .randmodel import random_model
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(3):
        m = random_model(seed * 100 + i, legacy=True, max_linears=2, max_conv_channels=3)
        for coo in (False, True):
            p = directory / f"legacy{i}_{'coo' if coo else 'dense'}.yml"
            save_legacy(m, p, coo=coo)
            out.append(p)
    for i, layout in enumerate(("coo", "dense", "csr", "csc", "coo", "dense")):
        m = random_model(seed * 100 + 50 + i, max_conv_channels=3, max_features=6)
        p = directory / f"own{i}_{layout}.yml"
        save_model(m, p, layout=layout)
        out.append(p)
    return out


def _paths(obj, prefix=()):
    """Every (path, value) in a YAML tree (path is a tuple of keys / indices)."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list) and len(obj) < 64:
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value):
    if not path:
        return value
    cur = obj
    for key in path[:-1]:
        cur = cur[key]
    cur[path[-1]] = value
    return obj


def _delete(obj, path):
    cur = obj
    for key in path[:-1]:
        cur = cur[key]
    if isinstance(cur, dict):
        cur.pop(path[-1], None)
    elif isinstance(cur, list) and cur:
        cur.pop(path[-1])
    return obj


def _dump(obj) -> str:
    return yaml.safe_dump(obj, sort_keys=False, default_flow_style=None, allow_unicode=True)


def make_mutant(text: str, kind: str, rng: np.random.Generator) -> bytes:
    """Return a mutant of the YAML ``text`` by mutation ``kind`` (one of :data:`MUTATIONS`)."""
    mutant = _mutate_text(text, kind, rng)
    if mutant is not None:
        return mutant
    doc = yaml.safe_load(text)
    nodes = list(_paths(doc))
    path, _value = nodes[int(rng.integers(1, len(nodes)))]
    return _dump(_mutate_tree(doc, nodes, path, kind, rng)).encode()


def _mutate_text(text: str, kind: str, rng: np.random.Generator) -> bytes | None:
    """The mutants made on the text (bytes, encoding, YAML syntax); None for the other kinds."""
    if kind == "truncate":
        return text.encode()[: int(rng.integers(0, len(text)))]
    if kind == "byte_flip":
        b = bytearray(text.encode())
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(0, len(b)))
            b[i] = int(rng.integers(0, 256))
        return bytes(b)
    if kind == "bad_utf8":
        b = text.encode()
        i = int(rng.integers(0, len(b)))
        return b[:i] + b"\xff\xfe\xc3" + b[i:]
    if kind == "empty":
        return rng.choice([b"", b"\n", b"---\n", b"null\n", b"[]\n", b"42\n", b"'text'\n"])
    if kind == "alias_bomb":
        lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        for j in range(1, 12):
            prev = chr(ord("a") + j - 1)
            cur = chr(ord("a") + j)
            lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
        return ("\n".join(lines) + "\n" + text).encode()
    if kind == "python_tag":
        tag = rng.choice(["!!python/object/apply:os.system ['echo pwned']",
                          "!!python/name:os.system", "!!python/tuple [1, 2]",
                          "!!python/object:fpgac.compiler.ir.Model {}"])
        lines = text.splitlines()
        i = int(rng.integers(0, len(lines)))
        key = lines[i].split(":")[0] if ":" in lines[i] else "head"
        lines[i] = f"{key}: {tag}"
        return ("\n".join(lines) + "\n").encode()
    if kind == "dup_key":
        lines = text.splitlines()
        top = [ln for ln in lines if ln and not ln.startswith((" ", "-")) and ":" in ln]
        line = top[int(rng.integers(0, len(top)))] if top else "head: x"
        return (text + line + "\n").encode()
    if kind == "long_literal":
        # an integer literal longer than Python converts (4,300 digits) or than fpgac accepts
        spans = [m.span() for m in re.finditer(r"(?<=[ \[,])-?\d+(?=[,\]\n])", text)]
        a, b = spans[int(rng.integers(0, len(spans)))]
        digits = int(rng.choice([101, 400, 4301, 20_000]))
        return (text[:a] + "9" * digits + text[b:]).encode()
    if kind == "deep_nesting":
        depth = int(rng.integers(200, 5000))
        return (text + "deep: " + "[" * depth + "]" * depth + "\n").encode()
    return None


def _mutate_tree(doc, nodes: list, path: tuple, kind: str, rng: np.random.Generator):
    """The mutants made on the parsed document ``doc`` (``nodes``: its ``(path, value)`` pairs,
    ``path`` the one drawn for the kinds that change any node); returns the mutated document."""
    if kind == "wrong_type":
        doc = _set(doc, path, _WEIRD[int(rng.integers(0, len(_WEIRD)))])
    elif kind == "delete_key":
        doc = _delete(doc, path)
    elif kind == "add_key":
        maps = [p for p, v in nodes if isinstance(v, dict)]
        target = maps[int(rng.integers(0, len(maps)))]
        sub = doc
        for k in target:
            sub = sub[k]
        sub[str(rng.choice(["extra", "weights", "Name", "n_bit", "padding", "layers"]))] = 1
    elif kind == "nan_inf":
        nums = [p for p, v in nodes if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if nums:
            doc = _set(doc, nums[int(rng.integers(0, len(nums)))],
                       float(rng.choice([np.nan, np.inf, -np.inf])))
    elif kind in ("huge_int", "negative", "float_int", "bool_for_int"):
        ints = [p for p, v in nodes if isinstance(v, int) and not isinstance(v, bool)]
        if ints:
            p = ints[int(rng.integers(0, len(ints)))]
            old = _get(doc, p)
            new = {"huge_int": int(rng.choice([2 ** 31, 2 ** 63, 2 ** 64 + 1, 10 ** 30])),
                   "negative": -abs(old) - int(rng.integers(1, 1000)),
                   "float_int": float(old) + 0.5,
                   "bool_for_int": bool(rng.integers(0, 2))}[kind]
            doc = _set(doc, p, new)
    elif kind in ("huge_size", "shape_mismatch"):
        sizes = [p for p, v in nodes if p and p[-1] in ("size", "shape") and isinstance(v, list)]
        if sizes:
            p = sizes[int(rng.integers(0, len(sizes)))]
            old = list(_get(doc, p))
            if kind == "huge_size":
                new = [int(rng.choice([10 ** 6, 10 ** 9, 2 ** 40]))] * max(1, len(old))
            else:
                new = [max(0, d + int(rng.integers(-2, 3))) for d in old]
                if rng.random() < 0.3:
                    new = new + [1]
            doc = _set(doc, p, new)
    elif kind in ("bad_index", "dup_index"):
        idx = [p for p, v in nodes if p and p[-1] in ("indices", "col_indices", "row_indices",
                                                        "indptr")
               and isinstance(v, list)]
        if idx:
            p = idx[int(rng.integers(0, len(idx)))]
            arr = _get(doc, p)
            row = arr[int(rng.integers(0, len(arr)))] if arr and isinstance(arr[0], list) else arr
            if isinstance(row, list) and row:
                j = int(rng.integers(0, len(row)))
                if kind == "bad_index":
                    row[j] = int(rng.choice([-1, 10 ** 6, 2 ** 40]))
                elif len(row) > 1:
                    row[j] = row[(j + 1) % len(row)]
    elif kind == "swap_values":
        a = nodes[int(rng.integers(1, len(nodes)))][0]
        b = nodes[int(rng.integers(1, len(nodes)))][0]
        if a and b and not _prefix(a, b) and not _prefix(b, a):
            va, vb = _get(doc, a), _get(doc, b)
            doc = _set(doc, a, vb)
            doc = _set(doc, b, va)
    elif kind == "long_string":
        doc = _set(doc, path, "z" * int(rng.integers(1000, 200_000)))
    elif kind == "list_for_map":
        maps = [p for p, v in nodes if isinstance(v, dict) and p]
        if maps:
            p = maps[int(rng.integers(0, len(maps)))]
            doc = _set(doc, p, list(_get(doc, p).items()))
    else:
        raise ValueError(f"unknown mutation {kind!r}")
    return doc


def _get(obj, path):
    for key in path:
        obj = obj[key]
    return obj


def _prefix(a, b) -> bool:
    return len(a) <= len(b) and tuple(b[: len(a)]) == tuple(a)


def _classify(data: bytes, path: Path) -> tuple[str, str]:
    from ..errors import FpgacError
    from ..compiler.frontend import load_model
    path.write_bytes(data)
    try:
        # no hint: an ambiguous legacy mutant is refused without running its candidates on
        # MNIST (that hint is an evaluation, not part of the loader's parse/validate time)
        model = load_model(path)
    except FpgacError as exc:
        msg = str(exc)
        if not msg.strip() or "\n" in msg.strip():
            return "silent", repr(msg)[:200]
        return "rejected", msg[:200]
    except BaseException as exc:                  # noqa: BLE001 - classify everything
        if isinstance(exc, _Timeout):
            return "hang", ""
        return "crash", f"{type(exc).__name__}: {str(exc)[:160]}"
    try:
        from . import golden
        golden.check_model(model)
    except FpgacError:
        pass                                       # valid file, model out of golden range
    except BaseException as exc:                  # noqa: BLE001
        if isinstance(exc, _Timeout):
            return "hang", "golden.check_model"
        return "crash", f"loaded, then golden.check_model: {type(exc).__name__}: {exc}"[:200]
    return "loaded", ""


class _Timeout(BaseException):
    pass


def _worker(seed: int, count: int, corpus: Path, limit_s: float, mem_bytes: int) -> None:
    """Run in a child process: print one JSON line per mutant, then a summary line."""
    import resource
    import signal
    if mem_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))

    def alarm(signum, frame):
        raise _Timeout()
    signal.signal(signal.SIGALRM, alarm)
    files = sorted(corpus.glob("*.yml"))
    texts = [f.read_text() for f in files]
    rng = np.random.default_rng(seed)
    scratch = corpus / "mutant.yml"
    for i in range(count):
        src = int(rng.integers(0, len(texts)))
        kind = MUTATIONS[int(rng.integers(0, len(MUTATIONS)))]
        sub = np.random.default_rng([seed, i])
        t0 = time.perf_counter()
        try:
            data = make_mutant(texts[src], kind, sub)
        except Exception as exc:                  # noqa: BLE001 - mutation not applicable
            data = texts[src].encode()
            kind = f"{kind}(noop:{type(exc).__name__})"
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        try:
            outcome, msg = _classify(data, scratch)
        except _Timeout:
            outcome, msg = "hang", ""
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        dt = time.perf_counter() - t0
        print(json.dumps({"i": i, "src": files[src].name, "kind": kind, "outcome": outcome,
                          "msg": msg, "t": round(dt, 4)}), flush=True)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"done": count, "rss_mb": round(rss_kb / 1024, 1)}), flush=True)


class FuzzResult(dict):
    """``outcomes`` Counter, ``by_kind``, ``failures`` (list), ``max_t``, ``rss_mb``,
    ``messages`` (distinct rejection messages seen), ``seconds``."""


def fuzz_loader(seed: int, count: int, *, limit_s: float = 5.0, mem_mb: int = 3072,
                workdir: Path | None = None) -> FuzzResult:
    """Fuzz :func:`fpgac.compiler.frontend.load_model` with ``count`` mutants (see module doc).

    The worker is restarted after a fatal death (counted as a crash of the current mutant).
    """
    t0 = time.perf_counter()
    tmp = tempfile.TemporaryDirectory() if workdir is None else None
    work = Path(tmp.name if tmp else workdir)
    corpus = work / "corpus"
    seed_files(corpus, seed)
    res = FuzzResult(outcomes=Counter(), by_kind={}, failures=[], max_t=0.0, rss_mb=0.0,
                     messages=0, seconds=0.0)
    messages = set()
    start = 0
    while start < count:
        sub_seed_count = count - start
        code = ("import sys; from pathlib import Path; from fpgac.sim.fuzzing import _worker; "
                f"_worker({seed}, {count}, Path({str(corpus)!r}), {limit_s}, "
                f"{mem_mb * 2 ** 20})")
        # the worker regenerates the same sequence; skip what was already classified
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONHASHSEED": "0"})
        last = start - 1
        for line in proc.stdout:
            rec = json.loads(line)
            if "done" in rec:
                res["rss_mb"] = max(res["rss_mb"], rec["rss_mb"])
                continue
            if rec["i"] < start:
                continue
            last = rec["i"]
            _record(res, rec, messages)
        proc.wait()
        err = proc.stderr.read()
        if last + 1 >= count:
            break
        # the worker died at mutant last + 1
        _record(res, {"i": last + 1, "src": "?", "kind": "?", "outcome": "crash",
                      "msg": f"worker died (exit {proc.returncode}): {err[-300:]}", "t": 0.0},
                messages)
        start = last + 2
        del sub_seed_count
    res["messages"] = len(messages)
    res["seconds"] = time.perf_counter() - t0
    if tmp:
        tmp.cleanup()
    return res


def _record(res: FuzzResult, rec: dict, messages: set) -> None:
    res["outcomes"][rec["outcome"]] += 1
    kind = rec["kind"].split("(")[0]
    res["by_kind"].setdefault(kind, Counter())[rec["outcome"]] += 1
    res["max_t"] = max(res["max_t"], rec["t"])
    if rec["outcome"] == "rejected":
        messages.add(rec["msg"])
    if rec["outcome"] in ("crash", "hang", "silent") and len(res["failures"]) < 20:
        res["failures"].append(rec)
