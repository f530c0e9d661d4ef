"""Load a scenario (YAML + GeoJSON layers) into a validated `Scenario`.

Everything a user can get wrong in a scenario file ends here as one
`ScenarioError` that names the file, the line and the field path and says
what was expected; nothing a file contains can cause a traceback.

Line numbers are found only when there is an error to report (re-composing
the YAML with node marks), so loading a good scenario costs one fast parse.

Files larger than `MAX_FILE_BYTES` (20 MB, each scenario or layer file) are
refused before they are read: a scenario is hand-written text, and a file of
that size is a mistake (or an attack) that would otherwise stall the parser.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from xuefeng.scenario import geojson
from xuefeng.scenario.errors import Loc, ScenarioError, format_path, short_repr
from xuefeng.scenario.registry import MAX_FILE_BYTES, SCENARIO_FILE, scenario_dir
from xuefeng.scenario.schema import ReferenceProblems, Scenario

__all__ = ["MAX_FILE_BYTES", "YamlFile", "load_scenario", "read_scenario_data", "read_yaml_file",
           "resolve_scenario_file"]

_FastLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MB = 1024 * 1024


# --------------------------------------------------------------------------- reading files


class _Loader(_FastLoader):  # type: ignore[misc, valid-type]
    """Safe YAML loader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key '{key_node.value}' (each key may appear once)",
                    key_node.start_mark)
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one node; a value its tag cannot hold becomes a located YAML error.

        PyYAML lets the constructors' own errors escape (`1945-04-31` gives
        `ValueError: day is out of range`, `!!bool maybe` a KeyError, a
        5,000-digit number Python's int-conversion limit), with no line.
        """
        try:
            value = super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, _bad_value(node, exc), node.start_mark) from None
        if isinstance(value, str) and _SURROGATE.search(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"text {short_repr(value)} holds a lone surrogate character "
                "(not a valid Unicode character; remove it)", node.start_mark)
        return value


#: A lone UTF-16 surrogate: JSON and YAML escapes can produce one, no UTF-8 file can hold one,
#: and any later encoding of the text (a cache key, a results file) would fail on it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_TAG_WORDS = {"int": "an integer", "float": "a number", "bool": "true or false",
              "timestamp": "a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS)",
              "binary": "base64 data", "null": "null"}


def _bad_value(node: yaml.Node, exc: BaseException) -> str:
    """Why a scalar cannot be read as what its tag (explicit or implied) says."""
    kind = str(node.tag).rsplit(":", 1)[-1]
    what = _TAG_WORDS.get(kind, f"a {kind} value")
    text = node.value if isinstance(node, yaml.ScalarNode) else None
    if isinstance(text, str):
        digits = sum(ch.isdigit() for ch in text)
        if "limit" in str(exc) and digits > 1000:
            return f"a number of {digits:,} digits is too long (at most {_MAX_DIGITS:,})"
        return f"{short_repr(text)} is not {what} ({_reason(exc)})"
    return f"cannot read this {kind} ({_reason(exc)})"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"unknown value {exc}"
    if isinstance(exc, (AttributeError, TypeError)):
        return "not written in that form"
    return str(exc).split(";")[0] or type(exc).__name__


_MAX_DIGITS = sys.get_int_max_str_digits() or 4300



#: Engine settings beside a scenario file (see `Scenario.engine_settings`).
ENGINE_SETTINGS_FILE = "engine.yaml"
#: Key under which `_read_merged` keeps the engine settings file's source among the origins.
ENGINE_SETTINGS_ORIGIN = ("engine_settings", -1)

def _read_text(path: Path, shown: str) -> str:
    """Read a scenario or layer file as UTF-8, refusing what is not a plain, modest text file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ScenarioError("file not found", file=shown, expected="an existing file") from None
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror}", file=shown) from None
    if not path.is_file():
        raise ScenarioError("not a regular file", file=shown, expected="a YAML or GeoJSON file")
    if st.st_size > MAX_FILE_BYTES:
        raise ScenarioError(
            f"file is {st.st_size / _MB:.1f} MB, larger than the {MAX_FILE_BYTES // _MB} MB limit "
            "for one scenario or layer file (split large map layers into several GeoJSON files)",
            file=shown, expected=f"at most {MAX_FILE_BYTES // _MB} MB")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read file: {exc.strerror}", file=shown) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            file=shown, line=line, expected="UTF-8 text") from None


def _parse_yaml(text: str, shown: str) -> Any:
    """Parse YAML safely; syntax errors become ScenarioErrors with their line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        kind = "invalid YAML" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ScenarioError(f"{kind}: {what}", file=shown, line=line,
                            expected="valid YAML") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ScenarioError(f"YAML cannot contain character {exc.character!r}", file=shown,
                            line=line, expected="printable text") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"YAML error: {exc}".replace("\n", " "), file=shown,
                            expected="valid YAML") from None
    except RecursionError:
        raise ScenarioError("YAML nested too deeply", file=shown, expected="a scenario mapping") from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:  # raised outside a node
        raise ScenarioError(f"invalid YAML: {_reason(exc)}", file=shown, expected="valid YAML") from None


def _line_map(text: str) -> dict[Loc, int]:
    """Field path -> 1-based line, from YAML node marks (also works for JSON).

    A mapping key's line is recorded for its path (where a user looks), a
    sequence item's first line for its index. Aliased nodes are walked once,
    so a crafted file cannot make this explode.
    """
    try:
        root = yaml.compose(text, Loader=_FastLoader)
    except (yaml.YAMLError, RecursionError):
        return {}
    lines: dict[Loc, int] = {}
    if root is None:
        return lines
    lines[()] = root.start_mark.line + 1
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    sub = (*loc, key.value)
                    lines.setdefault(sub, key.start_mark.line + 1)
                    stack.append((value, sub))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = (*loc, i)
                lines[sub] = item.start_mark.line + 1
                stack.append((item, sub))
    return lines


@dataclass
class _Source:
    """A file read for this scenario, with its line map built on first need."""

    shown: str
    text: str
    _lines: dict[Loc, int] | None = field(default=None, repr=False)

    def line(self, loc: Loc) -> int | None:
        """Line of `loc`, or of its nearest ancestor that the file has."""
        if self._lines is None:
            self._lines = _line_map(self.text)
        for n in range(len(loc), -1, -1):
            if loc[:n] in self._lines:
                return self._lines[loc[:n]]
        return None

    def error(self, loc: Loc, message: str, **kw: Any) -> ScenarioError:
        return ScenarioError(message, file=self.shown, line=self.line(loc), path=format_path(loc), **kw)


#: A YAML file read for a scenario; `.error(loc, message)` gives a ScenarioError at loc's line.
YamlFile = _Source


def read_yaml_file(path: str | os.PathLike[str]) -> tuple[Any, YamlFile]:
    """Read a scenario folder's other YAML files (history targets, what-ifs) as safely as the scenario.

    Same limits and refusals as `load_scenario` (size, UTF-8, duplicate keys, impossible dates,
    bad tags): every problem is a ScenarioError naming the file and line.
    """
    shown = os.fspath(path)
    src = _Source(shown, _read_text(Path(path), shown))
    return _parse_yaml(src.text, shown), src


def validation_error(exc: ValidationError, src: YamlFile) -> ScenarioError:
    """A pydantic error on data read by `read_yaml_file` -> one located ScenarioError (others attached)."""
    located = []
    for err in exc.errors(include_url=False):
        message, expected, got = _describe(err)
        located.append(src.error(tuple(err["loc"]), message, expected=expected, got=got))
    return _combine(located, src.shown)


# --------------------------------------------------------------------------- finding the file


def resolve_scenario_file(source: str | os.PathLike[str]) -> Path:
    """The scenario YAML for a packaged name, a folder holding scenario.yaml, or a .yaml/.yml file.

    A path that exists on disk wins over a packaged name of the same spelling.
    """
    text = os.fspath(source)
    if not text.strip():
        raise ScenarioError("no scenario given", expected="a scenario name, folder or .yaml file")
    try:
        return _resolve(text)
    except OSError as exc:  # e.g. a name too long or a folder we may not enter
        raise ScenarioError(f"cannot access: {exc.strerror}", file=short_repr(text, 200).strip("'"),
                            expected="a readable scenario path") from None


def _resolve(text: str) -> Path:
    p = Path(text)
    if p.is_dir():
        f = p / SCENARIO_FILE
        if not f.is_file():
            raise ScenarioError(f"folder has no {SCENARIO_FILE}", file=str(p),
                                expected=f"a folder that holds {SCENARIO_FILE}")
        return f
    if p.suffix.lower() in (".yaml", ".yml"):
        if not p.exists():
            raise ScenarioError("file not found", file=str(p), expected="an existing scenario file")
        return p
    if p.exists():
        raise ScenarioError("not a scenario file", file=str(p),
                            expected="a .yaml/.yml file, a folder with scenario.yaml, or a packaged scenario name")
    if os.sep in text or (os.altsep and os.altsep in text):
        raise ScenarioError("no such file or folder", file=str(p), expected="an existing scenario path")
    return scenario_dir(text) / SCENARIO_FILE


# --------------------------------------------------------------------------- loading


@dataclass
class _Origin:
    """Where a merged Theater entry came from: a GeoJSON file and feature."""

    source: _Source
    item: geojson.LayerItem


def read_scenario_data(source: str | os.PathLike[str]) -> dict[str, Any]:
    """The scenario as plain data, GeoJSON layers merged (what the JSON Schema describes).

    For tools that want the data before validation (editors, converters).
    """
    data, _, _ = _read_merged(resolve_scenario_file(source))
    return data


def load_scenario(source: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario; raise ScenarioError (file, line, field path) if it is bad."""
    path = resolve_scenario_file(source)
    data, main, origins = _read_merged(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(exc, main, origins) from None
    except (TypeError, RecursionError, OverflowError) as exc:  # values pydantic cannot compare
        raise ScenarioError(f"cannot validate: {exc}", file=main.shown) from None


def _read_merged(path: Path) -> tuple[dict[str, Any], _Source, dict[tuple[str, int], _Origin | _Source]]:
    """Read the YAML and its layers; return the merged data, the main source and feature origins."""
    main = _Source(str(path), _read_text(path, str(path)))
    if not main.text.strip():
        raise ScenarioError("file is empty", file=main.shown,
                            expected="a YAML mapping with meta, theater and units")
    data = _parse_yaml(main.text, main.shown)
    if data is None:
        raise ScenarioError("file holds no data (only comments?)", file=main.shown,
                            expected="a YAML mapping with meta, theater and units")
    if not isinstance(data, dict):
        raise main.error((), "the top level must be a mapping with meta, theater and units",
                         expected="a mapping", got=_kind(data))
    origins: dict[tuple[str, int], _Origin | _Source] = {}
    theater = data.get("theater")
    if isinstance(theater, dict) and isinstance(theater.get("layers"), list):
        _merge_layers(path, main, theater, origins)
    settings = path.parent / ENGINE_SETTINGS_FILE
    if "engine_settings" not in data and settings.is_file():
        src = _Source(str(settings), _read_text(settings, str(settings)))
        data["engine_settings"] = _parse_yaml(src.text, src.shown) or {}
        origins[ENGINE_SETTINGS_ORIGIN] = src  # errors under engine_settings point into this file
    return data, main, origins


def _merge_layers(path: Path, main: _Source, theater: dict[str, Any],
                  origins: dict[tuple[str, int], _Origin | _Source]) -> None:
    """Append each layer's features to the theater lists, after the inline entries."""
    problems: list[ScenarioError] = []
    for k, name in enumerate(theater["layers"]):
        loc = ("theater", "layers", k)
        if not isinstance(name, str) or not name.strip():
            problems.append(main.error(loc, "expected the file name of a GeoJSON layer", got=_kind(name)))
            continue
        layer_path = path.parent / name
        try:
            what = "" if layer_path.is_file() else "is not a file" if layer_path.exists() else "not found"
        except OSError as exc:
            what = f"cannot be accessed ({exc.strerror})"
        if what:
            problems.append(main.error(loc, f"GeoJSON layer file {what}: {layer_path}",
                                       expected="a GeoJSON file, relative to the scenario file"))
            continue
        shown = str(layer_path)
        text = _read_text(layer_path, shown)
        src = _Source(shown, text)
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(ScenarioError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=shown,
                                          line=exc.lineno, expected="a GeoJSON FeatureCollection"))
            continue
        except RecursionError:
            problems.append(ScenarioError("JSON nested too deeply", file=shown,
                                          expected="a GeoJSON FeatureCollection"))
            continue
        except ValueError as exc:  # a number past Python's int-conversion limit
            long = re.search("[0-9]{%d,}" % (_MAX_DIGITS + 1), text)
            what = (f"a number of {len(long.group()):,} digits is too long (at most {_MAX_DIGITS:,})"
                    if long else _reason(exc))
            problems.append(ScenarioError(f"invalid JSON: {what}", file=shown,
                                          line=_line_at(text, long.start()) if long else None,
                                          expected=f"numbers of at most {_MAX_DIGITS:,} digits"))
            continue
        bad_text = _surrogate_at(doc)
        if bad_text is not None:
            escape = re.search(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}", text)
            problems.append(ScenarioError(
                "text holds a lone surrogate character (a \\ud800-\\udfff escape that is not a valid "
                "Unicode character; remove it)", file=shown, path=format_path(bad_text),
                line=_line_at(text, escape.start()) if escape else None, expected="valid Unicode text"))
            continue
        items, bad = geojson.convert(doc)
        problems.extend(src.error(bloc, msg, expected="GeoJSON as the scenario format describes")
                        for bloc, msg in bad)
        for it in items:
            lst = theater.setdefault(it.target, [])
            if not isinstance(lst, list):
                continue  # the inline value is wrong; validation reports it
            origins[(it.target, len(lst))] = _Origin(src, it)
            lst.append(it.item)
    if problems:
        raise _combine(problems, main.shown)


def _line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _surrogate_at(doc: Any) -> Loc | None:
    """Path of the first string (key or value) holding a lone surrogate, or None."""
    stack: list[tuple[Any, Loc]] = [(doc, ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return loc
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    return loc
                stack.append((value, (*loc, key)))
        elif isinstance(node, list):
            stack.extend((item, (*loc, i)) for i, item in enumerate(node))
    return None


# --------------------------------------------------------------------------- errors


def _kind(value: Any) -> str:
    """How a value looks to a YAML author: 'a mapping', 'a list', or the value itself."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return short_repr(value)


def _combine(errors: list[ScenarioError], main_file: str | None = None) -> ScenarioError:
    """The first error (the scenario file first, then by line) carrying the others."""
    errors = sorted(errors, key=lambda e: (e.file != main_file, e.file or "", e.line or 0))
    first = errors[0]
    first.others = errors[1:]
    first.args = (first.one_line(),)
    return first


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model class that owns fields at `loc` (to list allowed field names)."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(str(part))
        if info is None:
            return None
        model = _inner_model(info.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """list[Unit] / Unit | None / Unit -> Unit (or None if no model inside)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


_IDENTIFIER_PATTERN = "^[a-z0-9][a-z0-9_\\-]*$"


def _describe(err: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """A pydantic error -> (message, expected, got) in a scenario author's words."""
    typ, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    loc = tuple(err["loc"])
    got: str | None = _kind(value)
    if typ == "missing":
        return "required field is missing", "a value", None
    if typ == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = f" (allowed: {', '.join(model.model_fields)})" if model else ""
        return f"unknown field '{loc[-1]}'{allowed}", "a known field name", None
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if typ in bounds:
        limit = next(iter(ctx.values()))
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {bounds[typ]} {limit}", f"{bounds[typ]} {limit}", got
    if typ == "string_pattern_mismatch":
        if ctx.get("pattern") == _IDENTIFIER_PATTERN:
            what = "a lower-case id: letters, digits, '-' and '_', starting with a letter or digit"
        else:
            what = f"a string matching {ctx.get('pattern')}"
        return f"must be {what}", what, got
    if typ in ("enum", "literal_error"):
        return f"must be one of {ctx.get('expected')}", str(ctx.get("expected")), got
    if typ in ("too_short", "string_too_short"):
        n = ctx.get("min_length")
        what = "must not be empty" if n == 1 else f"needs at least {n} items"
        return what, what, got
    if typ in ("model_type", "dict_type", "model_attributes_type"):
        return "must be a mapping of fields", "a mapping", got
    msg: str = err["msg"]
    if typ == "value_error":
        msg = msg.removeprefix("Value error, ")
        return msg, None, None
    msg = msg.replace("Input should be", "must be", 1)
    if isinstance(value, bool) and typ in ("string_type", "int_type", "float_type"):
        msg += " (YAML reads yes/no/on/off/true/false as booleans; quote the value)"
    expected = msg.removeprefix("must be ") if msg.startswith("must be ") else None
    return msg, expected, got


def _from_validation(exc: ValidationError, main: _Source,
                     origins: dict[tuple[str, int], _Origin | _Source]) -> ScenarioError:
    """All pydantic errors -> located ScenarioErrors, the first carrying the rest."""
    located: list[ScenarioError] = []

    def add(loc: Loc, message: str, expected: str | None, got: str | None) -> None:
        settings = origins.get(ENGINE_SETTINGS_ORIGIN)
        if loc and loc[0] == "engine_settings" and isinstance(settings, _Source):
            located.append(settings.error(loc[1:], message, expected=expected, got=got))
        elif len(loc) >= 3 and loc[0] == "theater" and isinstance(loc[2], int) and (loc[1], loc[2]) in origins:
            o = origins[(str(loc[1]), loc[2])]
            floc: Loc = ("features", o.item.index, *geojson.feature_loc(loc[3:]))
            who = f"{o.item.layer} '{o.item.feature_id}'" if o.item.feature_id else f"{o.item.layer} feature"
            located.append(o.source.error(floc, f"{who}: {message}", expected=expected, got=got))
        else:
            located.append(main.error(loc, message, expected=expected, got=got))

    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        problem = (err.get("ctx") or {}).get("error")
        if isinstance(problem, ReferenceProblems):
            for sub, message in problem.problems:
                add((*loc, *sub), message, None, None)
        else:
            add(loc, *_describe(err))
    return _combine(located, main.shown)
