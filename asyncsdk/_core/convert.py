"""The one cattrs converter, the JSON codec, and the timestamp parser.

Rules (docs/architecture.md#models):

- unknown fields are ignored, unknown enum values are kept (see :mod:`._core.enums`);
- ids are ``str`` whether the service sent a JSON number or a string (MOI sends the same
  snowflake id both ways, and above 2**53, so it must never pass through a float);
- timestamps become timezone-aware ``datetime`` objects from any of the forms the services use:
  epoch seconds, epoch milliseconds, RFC 3339 with nanoseconds, ``+0000`` offsets, naive ISO
  strings (taken as UTC);
- wrong types are errors, not silent coercions: a dict where a string belongs must not become the
  string ``"{...}"``. :func:`structure` turns every such failure into :class:`DecodeError`.

Speed matters here: a listing decodes every item it yields. Models are structured by functions
generated per class (:func:`_attrs_hook`) that skip a field's hook when the value already has
the field's type, fill frozen slots directly and build nested models in the same function;
:func:`structure_fn` gives a model's odd field forms their own hooks off that fast path. JSON
goes through orjson when it is installed (``pip install "asyncsdk[speedups]"``), with the
standard library deciding every body orjson cannot read exactly.
"""

from __future__ import annotations

import json
import re
import types
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum, IntEnum
from typing import Any, TypeVar, cast, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

try:  # the optional fast decoder: asyncsdk[speedups]
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]

from .enums import OpenIntEnum, OpenStrEnum
from .errors import DecodeError

__all__ = [
    "JSON_BACKEND",
    "converter",
    "dumps",
    "loads",
    "parse_timestamp",
    "structure",
    "structure_fn",
]

T = TypeVar("T")

# Epoch values above this are milliseconds: 1e11 seconds is the year 5138, and MOI's BYOA
# service sends workflow timestamps in milliseconds while its Go service sends seconds.
_MILLISECONDS_THRESHOLD = 1e11

_NUMERIC = re.compile(r"-?\d+(\.\d+)?")
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def _parse_offset(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_timestamp(value: Any) -> datetime:
    """Parse any of the services' timestamp forms into an aware ``datetime``.

    Numbers (and numeric strings) are epoch seconds, or milliseconds when above 1e11.
    Raises ``ValueError`` or ``TypeError`` for anything else.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise TypeError("expected a timestamp, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        parsed = _from_iso(text)
        if parsed is not None:
            return parsed
        if _NUMERIC.fullmatch(text):
            return parse_timestamp(float(text) if "." in text else int(text))
        match = _ISO.match(text)
        if match is None:
            raise ValueError(f"unrecognised timestamp {value!r}")
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=_parse_offset(offset),
        )
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) > _MILLISECONDS_THRESHOLD else value
        return datetime.fromtimestamp(seconds, UTC)
    raise TypeError(f"expected a timestamp, got {type(value).__name__}")


def _from_iso(text: str) -> datetime | None:
    """The C parser for the common shapes (``YYYY-MM-DD`` alone or followed by ``T``/space and
    ``HH:MM``...), or None to leave the text to the regular expression, which also knows
    ``z``, a space before the offset, and refuses what neither reads. The shape check keeps
    out what ``fromisoformat`` would read but the services never send (week dates, compact
    times, any separator letter), and numeric strings, which are epoch seconds."""
    size = len(text)
    if size < 10 or text[4] != "-" or text[7] != "-":
        return None
    if size != 10 and (size < 16 or text[10] not in "T " or text[13] != ":"):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    zone = parsed.tzinfo
    if zone is None:
        return parsed.replace(tzinfo=UTC)
    offset = zone.utcoffset(parsed)
    if zone is not UTC and offset is not None and offset % timedelta(minutes=1):
        return None  # an offset with seconds: the services' shapes have none; refuse as before
    return parsed


def _structure_str(value: Any, _: type) -> str:
    if type(value) is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_optional_str(value: Any, _: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    return _structure_str(value, str)


def _structure_optional_int(value: Any, _: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    return _structure_int(value, int)


_INTEGER_TEXT = re.compile(r"\s*-?\d+\s*")


def _structure_int(value: Any, _: type) -> int:
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"expected a boolean, got {value!r}")


def _structure_datetime(value: Any, _: type) -> datetime:
    if type(value) is int and value < _MILLISECONDS_THRESHOLD:
        return datetime.fromtimestamp(value, UTC)  # the common case; positional is faster
    return parse_timestamp(value)


def _structure_optional_datetime(value: Any, _: type) -> datetime | None:
    if type(value) is int and 0 < value < _MILLISECONDS_THRESHOLD:
        return datetime.fromtimestamp(value, UTC)  # the common case; positional is faster
    # Unfinished runs carry end_time 0 (MOI task files), "" or "0" (the current service's
    # tasks) rather than null.
    if value is None or value == 0 or value == "" or value == "0":
        return None
    return parse_timestamp(value)


def _structure_enum(value: Any, cls: type[Enum]) -> Enum:
    if type(value) is bool:  # True == 1: without this check it would pass as a member
        raise TypeError(f"expected a {cls.__name__} value, got a boolean")
    try:
        member = cls._value2member_map_.get(value)  # known values: one dict lookup
    except TypeError:  # unhashable: a list or a dict
        member = None
    if member is not None:
        return member
    if isinstance(value, (dict, list)) or value is None:
        raise TypeError(f"expected a {cls.__name__} value, got {type(value).__name__}")
    return cls(value)


def _structure_any(value: Any, _: type) -> Any:
    return value


def _is_tuple(cls: Any) -> bool:
    return get_origin(cls) is tuple


def _tuple_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # Models hold sequences as tuples (they are frozen); the services send JSON arrays, and
    # sometimes null for "none" (MOI's related_task_ids), which we read as empty.
    args = get_args(cls)
    item_type = args[0] if args else Any
    item_hook = conv.get_structure_hook(item_type)
    # A list of plain strings (ids, names) is the common case: one pass of class checks, no
    # hook call per item.
    exact = _exact_class(item_type, item_hook)

    def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        if exact is not None:
            for item in value:
                if item.__class__ is not exact:
                    break
            else:
                return tuple(value)
        return tuple(item_hook(item, item_type) for item in value)

    if exact is not None:
        # The generated model functions do this check themselves for a plain list.
        structure_tuple._asyncsdk_items = exact  # type: ignore[attr-defined]
    return structure_tuple


def _is_dict(cls: Any) -> bool:
    return cls is dict or get_origin(cls) is dict


def _structure_dict(value: Any, _: Any) -> dict[str, Any]:
    # Free-form objects (a workflow's component graph, a connector's config) stay plain dicts.
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


#: Scalar hooks that return a value of exactly this class unchanged: a field of that type
#: whose value already has the class needs no hook call.
_IDENTITY_HOOKS: dict[Any, tuple[Callable[[Any, Any], Any], type]] = {
    str: (_structure_str, str),
    int: (_structure_int, int),
    bool: (_structure_bool, bool),
    float: (_structure_float, float),
}


def _exact_class(cls: Any, hook: Callable[[Any, Any], Any]) -> type | None:
    """The class a value of field type ``cls`` may already have to skip ``hook``, if any."""
    known = _IDENTITY_HOOKS.get(cls)
    return known[1] if known is not None and hook is known[0] else None


class _Converter(cattrs.Converter):
    """cattrs' converter, with faster generated hooks for frozen, slotted attrs models."""

    def gen_structure_attrs_fromdict(self, cl: type[T]) -> Callable[[Mapping[str, Any], Any], T]:
        hook = _attrs_hook(self, cl)
        return hook if hook is not None else super().gen_structure_attrs_fromdict(cl)


def structure_fn(cl: type[T], **hooks: Callable[[Any, Any], Any]) -> Callable[[Any, Any], T]:
    """The structuring function of attrs class ``cl`` with the named fields' hooks replaced,
    for a model that reads a field in more forms than its type does (a status sent as a name
    as well as a number, say). Register the result, or call it from the class's own hook.

    A replaced hook is only asked about values that do not already have the field's type
    (a known member for an enum, an epoch second for a timestamp, ``None`` for some optional
    fields): for those it must give what the converter's own hook gives, which it does when
    it rewrites only the odd forms and hands everything to that hook. Classes the generated
    functions do not cover get cattrs' function with the same hooks.
    """
    hook = _attrs_hook(converter, cl, hooks)
    if hook is not None:
        return hook
    by_field = {name: override(struct_hook=fn) for name, fn in hooks.items()}
    return make_dict_structure_fn(cl, converter, **by_field)  # type: ignore[arg-type]


_MISSING = object()


def _builder(cl: type) -> type | None:
    """A subclass of frozen class ``cl`` whose instances take plain attribute stores, or None.

    A frozen class refuses ``setattr``, so storing a field without ``__init__`` costs a call of
    its slot's descriptor (an argument tuple and a wrapper each time). A subclass that adds no
    slots and restores ``object``'s ``__setattr__`` lets the interpreter store each field
    straight into its slot; the filled instance then takes ``cl`` as its class, which the
    interpreter allows because the two layouts are the same (tried once here). None where
    making a subclass or an instance could run code (a metaclass, ``__init_subclass__``,
    ``__new__``).
    """
    own = ("__init_subclass__", "__new__")
    if type(cl) is not type or any(name in vars(k) for k in cl.__mro__[:-1] for name in own):
        return None
    builder = type(
        cl.__name__,
        (cl,),
        {
            "__slots__": (),
            "__setattr__": object.__setattr__,
            "__delattr__": object.__delattr__,
            "__init__": object.__init__,  # creating one is a plain call, with no fields yet
            "__module__": cl.__module__,
            "__qualname__": f"{cl.__qualname__}.<asyncsdk builder>",
        },
    )
    probe: Any = object.__new__(builder)
    try:
        probe.__class__ = cl
    except TypeError:
        return None
    return builder


def _attrs_hook(
    conv: cattrs.Converter, cl: Any, hooks: Mapping[str, Callable[[Any, Any], Any]] | None = None
) -> Callable[[Any, Any], Any] | None:
    """Generate the structuring function of attrs class ``cl``, or None to leave ``cl`` to
    cattrs' own (generic classes, validators, converters, init hooks, fields outside
    ``__init__``: whatever this shortcut would get wrong). ``hooks`` replace some fields'
    hooks (see :func:`structure_fn`).

    The function reads each field from the dict, calls the field's hook only when the value
    does not already have the field's type (a string for a ``str``, a known value for an enum,
    an epoch second for a timestamp), and stores it into the instance's slot without the
    frozen class's ``__init__`` and its ``object.__setattr__`` per field (see :func:`_builder`).
    A nested model whose hook is such a function, and a tuple of strings, are built in the
    same function when their value is a plain dict or list (no call per nested object).
    It applies the same hooks and defaults as cattrs' function, so the values are the same.
    """
    hooks = hooks or {}
    unknown = set(hooks) - {f.name for f in attrs.fields(cl)} if attrs.has(cl) else set()
    if unknown:
        raise TypeError(f"{cl.__name__} has no field {sorted(unknown)!r}")
    gen = _Generator(conv)
    body = gen.object_code(cl, hooks, 0)
    if body is None:
        return None
    lines = [
        "def structure(o0, _=None):",
        "    if o0.__class__ is not dict and not isinstance(o0, __Mapping):",
        f"        raise TypeError('expected an object for {cl.__name__}, got '"
        " + type(o0).__name__)",
        *(f"    {line}" for line in body),
        "    return v",
    ]
    code = compile("\n".join(lines), f"<asyncsdk structure {cl.__qualname__}>", "exec")
    exec(code, gen.names)
    function: Callable[[Any, Any], Any] = gen.names["structure"]
    function.__name__ = f"structure_{cl.__name__}"
    # What to generate to build this class inside another class's function.
    function._asyncsdk_spec = (cl, dict(hooks))  # type: ignore[attr-defined]
    return function


def _key_object(name: str) -> str:
    """The string the fast JSON decoder puts in its dicts for key ``name``, else ``name``.

    orjson hands out one string object per key name (it keeps them in a cache), and builds
    dicts whose lookups compare a key's characters unless the very same object is asked for.
    Asking with that object makes a field's lookup an identity match. Should the decoder
    give another object (the standard library does), the lookup compares characters and
    finds the same value, only more slowly.
    """
    if orjson is None or not name.isidentifier():
        return name
    key: str = next(iter(orjson.loads(b'{"%s":0}' % name.encode())))
    return key


#: The start of recently seen hours (epoch hour -> aware datetime), for the generated
#: functions: a listing's timestamps fall into few hours, and adding a second to its hour's
#: start costs half of ``datetime.fromtimestamp``. Bounded; emptied when full.
_HOURS: dict[int, datetime] = {}
_HOURS_KEPT = 2048
#: ``timedelta(seconds=s)`` for every second of an hour, filled at the first epoch second.
_SECONDS: list[timedelta] = []


def _epoch_second(value: int) -> datetime:
    """``datetime.fromtimestamp(value, UTC)`` for an int, remembering the start of its hour
    for the generated functions (unless before 1970).

    Their start of the hour plus the seconds into it is the same datetime: POSIX time has no
    leap seconds, and datetime arithmetic is exact.
    """
    stamp = datetime.fromtimestamp(value, UTC)
    if value >= 0:
        if not _SECONDS:
            _SECONDS.extend(timedelta(seconds=second) for second in range(3600))
        if len(_HOURS) >= _HOURS_KEPT:
            _HOURS.clear()
        _HOURS[value // 3600] = stamp - _SECONDS[value % 3600]
    return stamp


#: How deep a nested model is built inside its parent's function; deeper ones are called.
_INLINE_DEPTH = 3

#: Epoch values below this take the int shortcut; an int literal, as comparing an int with
#: the float 1e11 costs more.
_LIMIT = str(int(_MILLISECONDS_THRESHOLD))


class _Generator:
    """The source of one generated structuring function, and the names it refers to."""

    def __init__(self, conv: cattrs.Converter) -> None:
        self.conv = conv
        self.names: dict[str, Any] = {
            "__MISSING": _MISSING,
            "__Mapping": Mapping,
            "__hours": _HOURS,
            "__seconds": _SECONDS,
            "__epoch": _epoch_second,
            "__new": object.__new__,
            "__tuple": tuple,
            "__str": str,
        }
        self._count = 0
        #: Per object being built, how many timestamp fields it has had so far.
        self._stamps: list[int] = []

    def _name(self, kind: str, value: Any) -> str:
        self._count += 1
        name = f"__{kind}{self._count}"
        self.names[name] = value
        return name

    def object_code(self, cl: Any, hooks: Mapping[str, Any], depth: int) -> list[str] | None:
        """Lines that build an instance of ``cl`` from the mapping in ``o<depth>`` into
        ``v``, or None where the shortcut does not apply."""
        if get_origin(cl) is not None or getattr(cl, "__parameters__", None):
            return None
        if not attrs.has(cl) or "__slots__" not in cl.__dict__:
            return None
        conv = self.conv
        if conv.forbid_extra_keys or conv.type_overrides:
            return None
        if hasattr(cl, "__attrs_pre_init__") or hasattr(cl, "__attrs_post_init__"):
            return None
        attrs.resolve_types(cl)
        fields = attrs.fields(cl)
        slots = {name for klass in cl.__mro__ for name in getattr(klass, "__slots__", ())}
        if not slots <= {f.name for f in fields} | {"__weakref__"}:
            return None  # a hidden slot (a cached hash) that __init__ would fill
        builder = _builder(cl)
        me, source = f"self{depth}", f"o{depth}"
        cls_name = self._name("cl", cl)
        if builder is not None:
            lines = [f"{me} = {self._name('builder', builder)}()"]
        else:
            lines = [f"{me} = __new({cls_name})"]
        self._stamps.append(0)
        try:
            for field in fields:
                descriptor = getattr(cl, field.name, None)
                if field.validator is not None or field.converter is not None or not field.init:
                    return None
                if not isinstance(descriptor, types.MemberDescriptorType):
                    return None
                if isinstance(field.type, str):
                    return None
                code = self._read_code(field, source, hooks.get(field.name), depth)
                if code is None:
                    return None
                lines.extend(code)
                if builder is not None:
                    lines.append(f"{me}.{field.name} = v")
                else:
                    lines.append(f"{self._name('set', descriptor.__set__)}({me}, v)")
            if self._stamps[-1] > 1:
                # No epoch second yet: the first timestamp's value (an int) never equals it.
                lines.insert(1, f"t{depth} = {_LIMIT}")
        finally:
            self._stamps.pop()
        if builder is not None:
            lines.append(f"{me}.__class__ = {cls_name}")
        lines.append(f"v = {me}")
        return lines

    def _read_code(self, field: Any, source: str, replaced: Any, depth: int) -> list[str] | None:
        """Lines that read ``field`` from ``source`` into ``v``, or None."""
        default = field.default
        body, raw_for = self.field_code(field.type, replaced, depth)
        key = self._name("key", _key_object(field.name))
        if default is attrs.NOTHING:
            return [f"v = {source}[{key}]", *body]
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            if default.takes_self:
                return None
            fill = f"{self._name('factory', default.factory)}()"
        else:
            raw = raw_for(default)
            if raw is not _MISSING:
                # A missing key reads as a raw value the code turns into the default itself.
                return [f"v = {source}.get({key}, {self._name('raw', raw)})", *body]
            fill = self._name("default", default)
        lines = [f"v = {source}.get({key}, __MISSING)", "if v is __MISSING:", f"    v = {fill}"]
        if body:
            lines.append("else:")
            lines.extend(f"    {line}" for line in body)
        return lines

    def field_code(
        self, cls: Any, replaced: Callable[[Any, Any], Any] | None, depth: int
    ) -> tuple[list[str], Callable[[Any], Any]]:
        """Lines that turn ``v`` (the raw value) into a value of type ``cls``, and
        :meth:`value_code`'s ``raw_for``. The shortcuts are those of the converter's hook for
        ``cls``; the call is to ``replaced`` when given."""
        conv = self.conv
        hook = conv.get_structure_hook(cls)
        hooked, hooked_type = hook, cls
        inner = cls
        optional = False
        args = get_args(cls)
        if len(args) == 2 and type(None) in args:  # X | None
            inner = args[0] if args[1] is type(None) else args[1]
            optional = hook == conv._structure_optional
            if optional:
                # cattrs' optional hook: None stays None, anything else goes to X's hook.
                hook = conv.get_structure_hook(inner)
                hooked, hooked_type = hook, inner
            elif hook is _structure_optional_str or hook is _structure_optional_int:
                optional, hook = True, _IDENTITY_HOOKS[inner][0]
        if replaced is not None:
            hooked, hooked_type = replaced, cls
        call = f"v = {self._name('hook', hooked)}(v, {self._name('type', hooked_type)})"
        body, raw_for = self.value_code(inner, hook, call, depth, inline=replaced is None)
        if body is None:
            body = [call]
            if hook is _structure_any and replaced is None:
                return [], _itself
        if optional:
            return ["if v is not None:", *(f"    {line}" for line in body)], (
                lambda value: None if value is None else raw_for(value)
            )
        return body, raw_for

    def value_code(
        self, cls: Any, hook: Callable[[Any, Any], Any], call: str, depth: int, inline: bool
    ) -> tuple[list[str] | None, Callable[[Any], Any]]:
        """Shortcut lines for a value of type ``cls`` handled by ``hook`` (None for the plain
        hook call), and ``raw_for``: given a field's default, a raw value that the lines turn
        into that very default without a call, or ``_MISSING``. A missing key can then read
        as that raw value instead of taking a branch of its own."""
        exact = _exact_class(cls, hook)
        if exact is not None:
            mismatched = [f"    {call}"]
            if exact is str and hook is _structure_str:
                # An id the service writes as a number (MOI's source_connector_id) is turned
                # into a string here, as the hook would, without calling it.
                mismatched = [
                    "    if v.__class__ is int:",
                    "        v = __str(v)",
                    "    else:",
                    f"        {call}",
                ]
            return [f"if v.__class__ is not {self._name('exact', exact)}:", *mismatched], (
                lambda value: value if value.__class__ is exact else _MISSING
            )
        if hook is _structure_dict:
            return ["if v.__class__ is not dict:", f"    {call}"], _none
        if hook is _structure_enum and isinstance(cls, type) and issubclass(cls, (int, str)):
            return self._enum_code(cls, call)
        if hook is _structure_datetime:
            return self._stamp_code(f"v.__class__ is int and v < {_LIMIT}", call, ["else:"]), _none
        if hook is _structure_optional_datetime:
            # None stays None without a call (the hook, or one replacing it, returns it), and
            # so does the hook's own unset time 0 (half of a task listing's end times).
            test = f"v.__class__ is int and 0 < v < {_LIMIT}"
            zero = ["elif v == 0:", "    v = None"] if inline else []
            return self._stamp_code(test, call, [*zero, "elif v is not None:"]), (
                lambda value: None if value is None else _MISSING
            )
        items = getattr(hook, "_asyncsdk_items", None)
        if items is not None and inline:
            # A list whose items all have the item class already: one pass, then a tuple.
            return [
                "if v.__class__ is list:",
                "    for m in v:",
                f"        if m.__class__ is not {self._name('exact', items)}:",
                f"            {call}",
                "            break",
                "    else:",
                "        v = __tuple(v)",
                "else:",
                f"    {call}",
            ], _none
        spec = getattr(hook, "_asyncsdk_spec", None)
        if spec is not None and spec[0] is cls and inline and depth < _INLINE_DEPTH:
            nested = self.object_code(cls, spec[1], depth + 1)
            if nested is not None:
                return [
                    "if v.__class__ is dict:",
                    f"    o{depth + 1} = v",
                    *(f"    {line}" for line in nested),
                    "else:",
                    f"    {call}",
                ], _none
        return None, _none

    def _enum_code(self, cls: Any, call: str) -> tuple[list[str], Callable[[Any], Any]]:
        # A known value is one lookup in the enum's own table; its class check keeps
        # True (== 1) from passing as a member, as the hook does.
        value_class = int if issubclass(cls, int) else str
        members = cast("type[Enum]", cls)._value2member_map_

        def raw_member(member: Any) -> Any:
            raw = getattr(member, "_value_", None)
            ok = raw.__class__ is value_class and members.get(raw) is member
            return raw if ok else _MISSING

        known, exact = self._name("members", members), self._name("exact", value_class)
        return [
            f"m = {known}.get(v) if v.__class__ is {exact} else None",
            "if m is None:",
            f"    {call}",
            "else:",
            "    v = m",
        ], raw_member

    def _stamp_code(self, test: str, call: str, otherwise: list[str]) -> list[str]:
        """An epoch second becomes a datetime without the hook's call: its hour's start (see
        :func:`_epoch_second`) plus its second in the hour. An object's later timestamps are
        compared with its first one and share its datetime when equal (a record just created
        carries the same second as created, started and updated)."""
        depth = len(self._stamps) - 1
        self._stamps[depth] += 1
        convert = [
            "m = __hours.get(v // 3600)",
            "v = __epoch(v) if m is None else m + __seconds[v % 3600]",
        ]
        if self._stamps[depth] == 1:
            lines = [f"    t{depth} = v", *(f"    {line}" for line in convert), f"    d{depth} = v"]
        else:
            lines = [
                f"    if v == t{depth}:",
                f"        v = d{depth}",
                "    else:",
                *(f"        {line}" for line in convert),
            ]
        return [f"if {test}:", *lines, *otherwise, f"    {call}"]


def _itself(value: Any) -> Any:
    return value


def _none(_value: Any) -> Any:
    return _MISSING


def _make_converter(kind: type[cattrs.Converter] | None = None) -> cattrs.Converter:
    # ``kind`` is for tests: cattrs' own converter class with the same hooks, whose
    # functions the generated ones must agree with.
    conv = (kind or _Converter)(detailed_validation=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(datetime, _structure_datetime)
    # These hooks dispatch on subclasses too, and an IntEnum is an int: register the enum
    # bases explicitly so enums come back as enum members, not bare ints or strings.
    for enum_base in (OpenIntEnum, OpenStrEnum, IntEnum, Enum):
        conv.register_structure_hook(enum_base, _structure_enum)
    conv.register_structure_hook_func(
        lambda t: t == (datetime | None), _structure_optional_datetime
    )
    # Optional scalars are common in hot models: skip cattrs' generic union dispatch.
    conv.register_structure_hook_func(lambda t: t == (str | None), _structure_optional_str)
    conv.register_structure_hook_func(lambda t: t == (int | None), _structure_optional_int)
    conv.register_structure_hook_func(lambda t: t is Any, _structure_any)
    conv.register_structure_hook_factory(_is_tuple, _tuple_hook_factory)
    conv.register_structure_hook_func(_is_dict, _structure_dict)
    conv.register_unstructure_hook(datetime, lambda d: d.isoformat())
    conv.register_unstructure_hook(date, lambda d: d.isoformat())
    return conv


converter = _make_converter()


def structure(value: Any, cls: type[T]) -> T:
    """Structure ``value`` into ``cls``; any mismatch becomes :class:`DecodeError`."""
    try:
        return converter.structure(value, cls)
    except Exception as exc:  # cattrs raises many kinds; all mean "not the documented shape"
        raise _mismatch(cls, exc) from exc


def structurer(cls: type[T]) -> Callable[[Any], T]:
    """:func:`structure` into ``cls`` as a function of the value alone, for a resource's
    single-object reads: the converter's hook for ``cls`` is looked up once, here, instead of
    on every call. Make it after the hooks of ``cls`` are registered (where the models are
    imported, as every resource module does)."""
    hook = converter.get_structure_hook(cls)

    def structure_one(value: Any) -> T:
        try:
            return hook(value, cls)  # type: ignore[no-any-return]
        except Exception as exc:  # as in structure(): any mismatch becomes DecodeError
            raise _mismatch(cls, exc) from exc

    structure_one.__name__ = f"structure_{getattr(cls, '__name__', cls)}"
    return structure_one


def _mismatch(cls: Any, exc: Exception) -> DecodeError:
    name = getattr(cls, "__name__", str(cls))
    return DecodeError(f"response does not match {name}: {_short(exc)}")


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


#: orjson reads integers of 64 bits exactly but turns larger ones into floats without a word,
#: so a body with a number of 20 digits (or a minus and 19) goes to the standard library, which
#: keeps every integer exact. Found without a regular expression (which costs more than orjson
#: itself): digits and minus become "0", what may stand before a JSON value (``[``, ``,``,
#: ``:``, white space) becomes ":", and the search is for ":" and twenty "0". A run of digits
#: inside a string can match too; that body is only decoded more slowly.
_NUMBER_SHAPE = bytes(
    ord("0") if chr(i) in "0123456789-" else ord(":") if chr(i) in "[,: \t\r\n" else ord("x")
    for i in range(256)
)
_BIG_INTEGER = b":" + b"0" * 20
_BIG_INTEGER_FIRST = _BIG_INTEGER[1:]  # the body is the number itself


#: The fast decoder, or None for the standard library alone. Tests replace it to run the same
#: bodies both ways.
_fast_loads: Callable[[bytes], Any] | None = orjson.loads if orjson is not None else None

#: Which JSON decoder :func:`loads` uses (for benchmark and bug reports).
JSON_BACKEND = f"orjson {orjson.__version__}" if orjson is not None else "json (stdlib)"


def loads(body: bytes | str) -> Any:
    """Decode JSON; big integers stay exact (they never pass through a float).

    Raises ``ValueError`` for text that is not JSON, and for JSON nested too deeply to decode
    (which the standard library reports as ``RecursionError``) a :class:`DecodeError` that
    is also a ``ValueError``.
    With orjson installed it decodes byte bodies; every body it refuses is decoded again by
    the standard library, so both accept and refuse the same bodies (``NaN``, which orjson
    refuses, is read as the standard library reads it).
    """
    fast = _fast_loads
    if fast is not None and isinstance(body, bytes):
        shape = body.translate(_NUMBER_SHAPE)  # (inline: this runs for every answer)
        if _BIG_INTEGER not in shape and not shape.startswith(_BIG_INTEGER_FIRST):
            try:
                return fast(body)
            except ValueError:
                pass  # the standard library gives the answer, or its own error
    try:
        return json.loads(body)
    except RecursionError:
        raise _TooDeep("response JSON is nested too deeply to decode") from None


class _TooDeep(DecodeError, ValueError):
    """JSON nested deeper than the decoder recurses: a :class:`DecodeError` for whoever calls
    :func:`loads`, and a ``ValueError`` like any other undecodable body, so the envelopes
    judge it by the HTTP status as they judge a body that is not JSON."""


def dumps(value: Any) -> bytes:
    """Encode JSON compactly, as the services do."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
