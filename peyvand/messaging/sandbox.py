"""The sandbox authors' templates run in: immutable, and bounded in time, loops and size.

Jinja's `ImmutableSandboxedEnvironment` already refuses attribute tricks and changes to the
data a template is given (`{{ emails.pop() }}`). On top of it, a render here has a budget:

- a deadline (TEMPLATE_RENDER_SECONDS, 1 s): checked at every loop step, call, filter and
  operator, so a runaway template stops within about that time;
- loop iterations, all loops together (TEMPLATE_MAX_LOOP_ITERATIONS, 10,000), and `range()`
  no longer than that;
- a size (TEMPLATE_MAX_OUTPUT, 1,000,000 characters) for the output of each part and for any
  value the template makes. Operations that multiply a size (`*`, `**`, `%` and format
  widths, `center`, `indent`, `replace`, `join`, `batch`, ...) are checked *before* they
  run, so no single step can allocate more than about that.

The render stays in the calling thread: a web worker is never forked, and the sender, which
renders per recipient, pays only for these checks (docs/security.md has the measurement).

Why one module over 400 lines: it is one security boundary. The budget, the size checks done
before an operation and the code generator that calls them are only safe together, and a
reviewer should be able to read every way out of the sandbox in one file.
"""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, wraps
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext as _
from jinja2 import Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import TemplateRuntimeError
from jinja2.runtime import LoopContext, markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace, generate_lorem_ipsum
from markupsafe import soft_str

from peyvand.base.templatetags.peyvand_ui import fadigits

MAX_INT_BITS = 16_384  # Python prints at most 4,300 digits anyway
_STR_METHODS_REFUSED = frozenset({"translate", "maketrans"})  # a table can grow any string


class TemplateLimit(TemplateRuntimeError):
    """A render went past a limit; the message is for the template's author."""


def max_size() -> int:
    budget = _budget.get()
    return budget.size if budget is not None else _limits()[2]


def _too_big() -> TemplateLimit:
    return TemplateLimit(_("the template makes text longer than %(limit)s characters")
                         % {"limit": fadigits(f"{max_size():,}")})


@dataclass
class Budget:
    deadline: float
    seconds: float
    iterations: int
    size: int

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimit(_("the template took longer than %(seconds)s s to render")
                                % {"seconds": fadigits(f"{self.seconds:g}")})

    def step(self) -> None:
        self.iterations -= 1
        if self.iterations < 0:
            limit = _limits()[1]
            raise TemplateLimit(_("the template's loops ran more than %(limit)s times")
                                % {"limit": fadigits(f"{limit:,}")})
        self.tick()


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


@cache
def _limits() -> tuple[float, int, int]:
    return (settings.TEMPLATE_RENDER_SECONDS, settings.TEMPLATE_MAX_LOOP_ITERATIONS,
            settings.TEMPLATE_MAX_OUTPUT)


@receiver(setting_changed)
def _forget_limits(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("TEMPLATE_"):
        _limits.cache_clear()


def _new_budget() -> Budget:
    seconds, iterations, size = _limits()  # read once: a budget is made per recipient
    return Budget(time.monotonic() + seconds, seconds, iterations, size)


class render_budget:  # noqa: N801 (used as a context manager; a class is the cheaper kind)
    """One budget for what renders inside (the three parts of a message share it); a render
    already under a budget keeps that one."""

    def __enter__(self) -> Budget:
        current = _budget.get()
        self._token = None if current is not None else _budget.set(_new_budget())
        return current or _budget.get()  # type: ignore[return-value]

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _budget.reset(self._token)


def _tick() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.tick()


# --- sizes ---------------------------------------------------------------------------------

def weight(value: Any, limit: int | None = None) -> int:
    """About how many characters `value` prints as (an upper bound for strings, numbers and
    containers); counting stops once past `limit`. Shared parts are counted each time they
    appear but looked at once, so a value built by doubling is weighed quickly."""
    limit = max_size() if limit is None else limit
    seen: dict[int, int] = {}

    def of(item: Any, depth: int) -> int:
        if isinstance(item, str | bytes):
            return len(item)
        if isinstance(item, bool) or item is None:
            return 5
        if isinstance(item, int):
            return item.bit_length() // 3 + 2
        if isinstance(item, float):
            return 24
        if isinstance(item, Namespace):
            item = dict(item._Namespace__attrs)  # type: ignore[attr-defined]
        if not isinstance(item, list | tuple | dict | set | frozenset):
            return 16
        key = id(item)
        if key in seen:
            return seen[key]
        if depth > 100:
            raise TemplateLimit(_("the template nests lists more than 100 deep"))
        total = 2
        children = (x for pair in item.items() for x in pair) if isinstance(item, dict) else item
        for child in children:
            total += of(child, depth + 1) + 4  # quotes, comma and space
            if total > limit:
                break
        seen[key] = total
        return total

    return of(value, 0)


def _number_too_big() -> TemplateLimit:
    return TemplateLimit(_("the template makes a number longer than %(digits)s digits")
                         % {"digits": fadigits(f"{MAX_INT_BITS * 3 // 10:,}")})


def check_value(value: Any) -> Any:
    """`value`, refused when it is larger than a template may make."""
    if isinstance(value, str | bytes):
        if len(value) > max_size():
            raise _too_big()
    elif isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _number_too_big()
    elif isinstance(value, list | tuple | dict | set | frozenset | Namespace) \
            and weight(value) > max_size():
        raise _too_big()
    return value


def _fits(size: float) -> None:
    if size > max_size():
        raise _too_big()


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")


def _check_printf(fmt: Any) -> None:
    """Widths and precisions of a %-format; `*` (taken from the arguments) is refused."""
    if not isinstance(fmt, str):
        return
    for width, precision in _PRINTF.findall(fmt):
        for number in (width, precision):
            if number == "*":
                raise SecurityError(_("a width taken from the values (%*s)"))
            if number:
                _fits(int(number))


def _check_format(fmt: str) -> None:
    """Widths in a str.format() string; a width taken from the values is refused."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format says what is wrong with it
    for _text, _name, spec, _conversion in fields:
        if spec and "{" in spec:
            raise SecurityError(_("a width taken from the values ({:{}})"))
        for number in re.findall(r"\d+", spec or ""):
            _fits(int(number))


def _replaced_size(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    values = (text, old, new)
    if not (all(isinstance(v, str) for v in values) or all(isinstance(v, bytes) for v in values)):
        return
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _fits(len(text) + found * (len(new) - len(old)))


def _joined_size(separator: Any, items: list[Any]) -> None:
    _fits(weight(items) + len(soft_str(separator)) * len(items))


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _number(value: Any) -> int:
    try:
        return abs(int(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _check_str_method(method: Any, args: tuple, kwargs: dict) -> tuple:
    """Bound methods of strings that can make a string much longer than their inputs; the
    arguments to call it with (an iterable to join is read once, here)."""
    text, name = method.__self__, method.__name__
    if name in ("center", "ljust", "rjust", "zfill"):
        _fits(_number(_arg(args, kwargs, 0, "width", 0)))
    elif name == "expandtabs":
        _fits(len(text) * max(1, _number(_arg(args, kwargs, 0, "tabsize", 8))))
    elif name == "replace":
        _replaced_size(text, _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new"),
                       _arg(args, kwargs, 2, "count", -1))
    elif name == "join" and args:
        items = list(args[0])
        _joined_size(text, items)
        return (items, *args[1:])
    return args


# Filters that can make their result much larger than their input: checked before they run.
# Each takes the filter's arguments after the value.
def _pre_center(value, args, kwargs):
    _fits(_number(_arg(args, kwargs, 0, "width", 80)))


def _pre_indent(value, args, kwargs):
    width = _arg(args, kwargs, 0, "width", 4)
    width = len(width) if isinstance(width, str) else _number(width)
    text = soft_str(value)
    _fits(len(text) + (text.count("\n") + 1) * width)


def _pre_format(value, args, kwargs):
    _check_printf(value)


def _pre_replace(value, args, kwargs):
    _replaced_size(soft_str(value), soft_str(_arg(args, kwargs, 0, "old", "")),
                   soft_str(_arg(args, kwargs, 1, "new", "")), _arg(args, kwargs, 2, "count"))


def _pre_wordwrap(value, args, kwargs):
    text = soft_str(value)
    wrap = _arg(args, kwargs, 3, "wrapstring") or "\n"
    width = max(1, _number(_arg(args, kwargs, 0, "width", 79)))
    _fits(len(text) + (len(text) // width + text.count("\n") + 1) * len(soft_str(wrap)))


def _pre_count(value, args, kwargs, index: int, name: str):
    _fits(_number(_arg(args, kwargs, index, name, 1)))


def _pre_tojson(value, args, kwargs):
    indent = _arg(args, kwargs, 0, "indent")
    _fits((len(indent) if isinstance(indent, str) else _number(indent)) * weight(value))


def _pre_sum(value, args, kwargs):
    start = _arg(args, kwargs, 1, "start", 0)
    if not isinstance(start, int | float):
        raise SecurityError(_("sum() of anything but numbers"))


_PRE_FILTER: dict[str, Callable[[Any, tuple, dict], None]] = {
    "center": _pre_center,
    "indent": _pre_indent,
    "format": _pre_format,
    "replace": _pre_replace,
    "wordwrap": _pre_wordwrap,
    "batch": lambda v, a, k: _pre_count(v, a, k, 0, "linecount"),
    "slice": lambda v, a, k: _pre_count(v, a, k, 0, "slices"),
    "tojson": _pre_tojson,
    "sum": _pre_sum,
}


def _limited_filter(name: str, func: Callable) -> Callable:
    """The filter, with its size checked before (where it can grow) and after."""
    from jinja2.utils import _PassArg

    passes = _PassArg.from_obj(func) is not None
    pre = _PRE_FILTER.get(name)

    @wraps(func)
    def limited(*args: Any, **kwargs: Any) -> Any:
        _tick()
        head, value, rest = args[:passes], args[passes], args[passes + 1:]
        if name == "join":
            value = list(value)
            _joined_size(_arg(rest, kwargs, 0, "d", ""), value)
        elif pre is not None:
            pre(value, rest, kwargs)
        return check_value(func(*head, value, *rest, **kwargs))

    return limited


# --- the environment -----------------------------------------------------------------------

# The filter a for loop's iterable goes through; a name with a space, so no template can
# name it (Jinja allows no custom node types; a filter node is the way in).
_COUNTED = "loop budget"


class _CodeGenerator(CodeGenerator):
    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.checked(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.checked(")
        super().visit_Dict(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # a target of an assignment or a loop
            super().visit_Tuple(node, frame)
            return
        self.write("environment.checked(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # `a ~ b`: weighed before the parts are turned into text.
        if frame.eval_ctx.volatile:
            escape = "context.eval_ctx.autoescape"
        else:
            escape = "True" if frame.eval_ctx.autoescape else "False"
        self.write(f"environment.join_values({escape}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Template(Template):
    def render(self, *args: Any, **kwargs: Any) -> str:
        if _budget.get() is not None:  # (the sender's hot path: no context manager)
            return super().render(*args, **kwargs)
        token = _budget.set(_new_budget())
        try:
            return super().render(*args, **kwargs)
        finally:
            _budget.reset(token)


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose renders stop at the limits above with a TemplateLimit."""

    code_generator_class = _CodeGenerator
    template_class = _Template
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.globals["range"] = self._range
        self.globals["lipsum"] = self._lipsum
        self.filters = {name: _limited_filter(name, func) for name, func in self.filters.items()}
        self.filters[_COUNTED] = self.counted

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        # Jinja's hook between parsing and code generation: every loop counts its steps.
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None,
                                     lineno=loop.iter.lineno)
        return super()._generate(source, *args, **kwargs)

    def unsafe_undefined(self, obj, attribute):
        # Jinja's default prints an unsafe access as empty; authors should see the refusal.
        raise SecurityError(f"access to attribute {attribute!r} of "
                            f"{type(obj).__name__!r} object is unsafe")

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str | bytes) and attr in _STR_METHODS_REFUSED:
            return False
        return super().is_safe_attribute(obj, attr, value)

    @staticmethod
    def _range(*args: int) -> range:
        numbers = range(*args)
        limit = _limits()[1]
        if len(numbers) > limit:
            raise TemplateLimit(_("range() may count at most %(limit)s numbers")
                                % {"limit": fadigits(f"{limit:,}")})
        return numbers

    @staticmethod
    def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
        _fits(_number(n) * _number(max) * 12)
        return generate_lorem_ipsum(n, html, min, max)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        @wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format(fmt)
            return check_value(wrapped(*args, **kwargs))

        return checked

    def call(self, context, obj, /, *args, **kwargs):  # type: ignore[override]
        _tick()
        if isinstance(getattr(obj, "__self__", None), str | bytes) and callable(obj):
            args = _check_str_method(obj, args, kwargs)
        elif isinstance(obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (self.counted(args[0]), *args[1:])
        return check_value(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        _tick()
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(times, int) and not isinstance(seq, int | float):
                    _fits(weight(seq) * max(0, times))
            if isinstance(left, int) and isinstance(right, int) \
                    and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _number_too_big()
        elif operator == "**" and isinstance(left, int) and isinstance(right, int) \
                and right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS:
            raise _number_too_big()
        elif operator == "%":
            _check_printf(left)
        return check_value(super().call_binop(context, operator, left, right))

    def counted(self, iterable: Iterable[Any]) -> Iterator[Any]:
        budget = _budget.get()
        if budget is None:
            yield from iterable
            return
        for item in iterable:
            budget.step()
            yield item

    def checked(self, value: Any) -> Any:
        return check_value(value)

    def join_values(self, escape: bool, values: tuple) -> str:
        _fits(sum(weight(v) for v in values))
        return check_value(markup_join(values) if escape else "".join(map(str, values)))

    def concat(self, parts: Iterable[str]) -> str:  # type: ignore[override]
        """The output of a template, a macro or a captured block, refused past the size.
        Joined 32 parts at a time: each part is at most the size, so at most 32 sizes are
        held before the check, and a short template is one join."""
        limit = max_size()
        parts = iter(parts)
        kept: list[str] = []
        size = 0
        while True:
            chunk = list(islice(parts, 32))
            text = "".join(chunk)
            size += len(text)
            if size > limit:
                raise _too_big()
            if len(chunk) < 32:
                return "".join((*kept, text)) if kept else text
            kept.append(text)
