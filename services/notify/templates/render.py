"""Rendering a template (sandboxed Jinja2) and counting an SMS's parts.

Which variables a template may use is fixed by its purpose: a greeting, or the event type it
alerts about; the values come from the campaign or from the event and its parties.
"""

import math

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

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

# 70 characters fit one SMS; a longer one is sent in parts of 67 (each carries a header).
SMS_SINGLE = 70
SMS_PART = 67

_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


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
    """The text with `values` filled in (a missing one raises jinja2's UndefinedError)."""
    return _ENV.from_string(body).render(values)


def sms_text(body: str, sign_name: str | None) -> str:
    """The SMS as the phone shows it: the sign 【签名】 first, which counts towards the length."""
    return f"【{sign_name}】{body}" if sign_name else body


def sms_parts(text: str) -> int:
    """How many SMS the text is billed as: one up to 70 characters, else parts of 67."""
    return 1 if len(text) <= SMS_SINGLE else math.ceil(len(text) / SMS_PART)
