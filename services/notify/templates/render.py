"""Rendering a template (sandboxed Jinja2) and counting an SMS's parts.

Which variables a template may use is fixed by its purpose: a greeting, or the event type it
alerts about; the values come from the campaign or from the event and its parties.
"""

import math
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateRuntimeError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from services.common.errors import Invalid

GREETING = "greeting"

# The variables each purpose provides: a template using any other is refused when saved.
_PARTY = ("recipient_name", "cadre_name", "village", "unit_name")
VARIABLES: dict[str, frozenset[str]] = {
    GREETING: frozenset({"name", "festival", "day", "county", "village", "sender"}),
    "attendance.checkin.recorded": frozenset({"recipient_name", "time", "village", "kind"}),
    "attendance.absence.detected": frozenset({*_PARTY, "first_day", "last_day", "days"}),
    "attendance.monthly_minimum.missed": frozenset({*_PARTY, "month", "counted", "required"}),
    "attendance.yearly_minimum.missed": frozenset({*_PARTY, "year", "counted", "required"}),
    "attendance.spotcheck.recorded": frozenset({*_PARTY, "visit_day", "note"}),
    "attendance.talk.escalated": frozenset({*_PARTY, "talked_on", "problems"}),
}

# What each variable looks like at its realistic longest-but-usual, for rendering a template
# when it is saved (its length checked) and previewed: names of 3 characters, dates as
# YYYY-MM-DD, a place as its 12-digit division code (what the alerts fill in), counts of 2
# digits. Every variable of VARIABLES has one (tests/notify/test_templates.py checks).
SAMPLES: dict[str, str] = {
    "name": "张玉兰",
    "recipient_name": "李明华",
    "cadre_name": "王建国",
    "sender": "驻村工作队",
    "festival": "中秋节",
    "day": "2026-09-25",
    "county": "511529000000",
    "village": "511529100201",
    "unit_name": "县农业农村局",
    "time": "2026-11-23 07:58",
    "kind": "签到",
    "first_day": "2026-11-16",
    "last_day": "2026-11-20",
    "days": "12",
    "month": "2026-11",
    "year": "2026",
    "counted": "15",
    "required": "20",
    "visit_day": "2026-11-18",
    "note": "家中有事未请假",
    "talked_on": "2026-11-10",
    "problems": "产业补助未发放；村道未硬化",
}

# 70 characters fit one SMS; a longer one is sent in parts of 67 (each carries a header).
SMS_SINGLE = 70
SMS_PART = 67


class _Sandbox(SandboxedEnvironment):
    """Jinja2's sandbox, and no arithmetic that builds a giant: a county's template is text
    with a few values in it, not a program (`"x" * 10**9` would take the process's memory)."""

    intercepted_binops = frozenset({"*", "**"})
    LARGEST = 10_000

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        sizes = [len(v) for v in (left, right) if isinstance(v, str | list | tuple)]
        counts = [v for v in (left, right) if isinstance(v, int)]
        if operator == "**" and any(abs(n) > 64 for n in counts):
            raise SecurityError("exponent too large")
        if operator == "*" and sizes and any(n * max(sizes) > self.LARGEST for n in counts):
            raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def variables_in(body: str) -> set[str]:
    """The variables a template's text uses; a text that is not a template is a 422."""
    try:
        return meta.find_undeclared_variables(_ENV.parse(body))
    except TemplateError as exc:
        raise Invalid(
            f"模板语法错误：{exc}",
            code="template_syntax",
            errors=[{"field": "body", "message": str(exc)}],
        ) from None


def check(body: str, purpose: str) -> list[str]:
    """The variables `body` uses, all of which `purpose` provides; else a 422 naming them."""
    if purpose not in VARIABLES:
        raise Invalid(
            "未知的模板用途 (unknown purpose)",
            code="template_unknown_purpose",
            errors=[{"field": "purpose", "message": f"可选：{', '.join(sorted(VARIABLES))}"}],
        )
    used = variables_in(body)
    unknown = sorted(used - VARIABLES[purpose])
    if unknown:
        raise Invalid(
            f"模板使用了未知变量：{', '.join(unknown)} (unknown variables)",
            code="template_unknown_variable",
            errors=[{"field": "body", "message": f"未知变量 {name}"} for name in unknown],
        )
    return sorted(used)


def render(body: str, values: dict[str, str]) -> str:
    """The text with `values` filled in. Whatever goes wrong in it (a missing value, a
    division by zero on a real value, a refused operation) is a TemplateError, which every
    caller turns into a refusal of its own."""
    try:
        return _ENV.from_string(body).render(values)
    except TemplateError:
        raise
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        raise TemplateRuntimeError(f"{type(exc).__name__}: {exc}") from exc


def sms_text(body: str, sign_name: str | None) -> str:
    """The SMS as the phone shows it: the sign 【签名】 first, which counts towards the length."""
    return f"【{sign_name}】{body}" if sign_name else body


def sms_parts(text: str) -> int:
    """How many SMS the text is billed as: one up to 70 characters, else parts of 67."""
    return 1 if len(text) <= SMS_SINGLE else math.ceil(len(text) / SMS_PART)


def sample_values(purpose: str) -> dict[str, str]:
    """The sample value of each variable `purpose` provides."""
    return {name: SAMPLES[name] for name in VARIABLES[purpose]}


def provider_params(
    params: list[dict[str, str]], variables: list[str], values: dict[str, str]
) -> dict[str, str]:
    """What the provider's template is filled with, in its order: each of `params` rendered
    from our values; without them, the variables the body uses, under their own names."""
    if params:
        return {p["name"]: render(p["value"], values) for p in params}
    return {name: values[name] for name in variables if name in values}
