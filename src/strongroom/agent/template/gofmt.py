"""Go's fmt package, as far as templates use it: `%v` printing of values, Sprint, Sprintln and Sprintf.

Layer: agent. Imports stdlib and the sibling `values` module only.

Supported verbs: %v %+v %T %s %q %d %t %f %F %e %E %g %G %x %X %o %b %c %% with the flags `-+# 0`, width and
precision. Go's in-band error forms are reproduced (`%!d(string=x)`, `%!v(MISSING)`, `%!(EXTRA ...)`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

from strongroom.agent.template.values import MISSING, Struct, go_type


def format_float(value: float, verb: str = "g", precision: int = -1) -> str:
    """strconv.FormatFloat for 'g' (shortest when precision is -1), 'e' and 'f'."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    upper = verb.isupper()
    verb = verb.lower()
    if verb == "f":
        return f"{value:.{6 if precision < 0 else precision}f}"
    if verb == "e":
        return _go_exponent(f"{value:.{6 if precision < 0 else precision}e}", upper)
    if precision >= 0:
        return _go_exponent(f"{value:.{max(precision, 1)}g}", upper)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    if not isinstance(exponent, int) or digits == (0,):
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    text = "".join(map(str, digits))
    point = len(text) + exponent
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return prefix + _go_exponent(f"{mantissa}e{point - 1:+d}", upper)
    if point <= 0:
        return prefix + "0." + "0" * -point + text
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return prefix + text[:point] + "." + text[point:]


def _go_exponent(text: str, upper: bool) -> str:
    """Python writes e+5 or e+05; Go always writes at least two exponent digits."""
    mantissa, _, exp = text.partition("e")
    if exp:
        sign, digits = exp[0], exp[1:].lstrip("0") or "0"
        text = f"{mantissa}e{sign}{digits.rjust(2, '0')}"
    return text.upper() if upper else text


def go_quote(text: str) -> str:
    """strconv.Quote: a double-quoted Go string literal with Go's escapes."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(char)])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not char.isprintable() and code > 0x7F:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def format_value(value: object, *, pointer: bool = True) -> str:
    """Go's `%v` of a value; `pointer=False` prints a top-level `*Struct` without `&`, as templates do."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Struct):
        body = " ".join(format_value(v, pointer=False) for v in value.fields.values())
        return ("&{" if value.type_name.startswith("*") and pointer else "{") + body + "}"
    if isinstance(value, Mapping):
        items = " ".join(
            f"{format_value(k, pointer=False)}:{format_value(value[k], pointer=False)}" for k in sorted(value)
        )
        return f"map[{items}]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(format_value(v, pointer=False) for v in value) + "]"
    return str(value)


def sprint(args: Sequence[object]) -> str:
    """fmt.Sprint: a space between operands when neither side is a string."""
    out: list[str] = []
    for i, arg in enumerate(args):
        if i > 0 and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(format_value(arg))
    return "".join(out)


def sprintln(args: Sequence[object]) -> str:
    """fmt.Sprintln: operands always separated by spaces, and a trailing newline."""
    return " ".join(format_value(arg) for arg in args) + "\n"


def _bad(verb: str, arg: object) -> str:
    if arg is None or arg is MISSING:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(arg)}={format_value(arg)})"


def _pad(text: str, width: int | None, flags: str, numeric: bool) -> str:
    if width is None or len(text) >= width:
        return text
    if "-" in flags:
        return text.ljust(width)
    if "0" in flags and numeric:
        sign = text[0] if text[:1] in ("-", "+", " ") else ""
        return sign + text[len(sign) :].rjust(width - len(sign), "0")
    return text.rjust(width)


def _sign(text: str, flags: str) -> str:
    if text.startswith("-"):
        return text
    if "+" in flags:
        return "+" + text
    if " " in flags:
        return " " + text
    return text


def _integer(verb: str, value: int, flags: str, precision: int | None) -> str:
    base = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
    digits = format(abs(value), base)
    if precision is not None:
        digits = digits.rjust(precision, "0")
    if "#" in flags and verb in "xXo":
        digits = {"x": "0x", "X": "0X", "o": "0"}[verb] + digits
    return _sign(("-" if value < 0 else "") + digits, flags)


def _one(verb: str, arg: object, flags: str, precision: int | None) -> tuple[str, bool]:
    """Format one operand; returns the text and whether zero-padding applies."""
    if verb not in "vT" and isinstance(arg, list | tuple):
        return "[" + " ".join(_one(verb, item, flags, precision)[0] for item in arg) + "]", False
    if verb not in "vT" and isinstance(arg, Mapping):
        pairs = (
            f"{_one(verb, k, flags, precision)[0]}:{_one(verb, arg[k], flags, precision)[0]}"
            for k in sorted(arg)
        )
        return "map[" + " ".join(pairs) + "]", False
    if verb == "v":
        if isinstance(arg, float):
            return _sign(format_float(arg), flags), True
        if isinstance(arg, int) and not isinstance(arg, bool):
            return _sign(str(arg), flags), True
        return format_value(arg), False
    if verb == "s":
        if isinstance(arg, str):
            return (arg if precision is None else arg[:precision]), False
        return _bad(verb, arg), False
    if verb == "q":
        if isinstance(arg, str):
            return go_quote(arg), False
        if isinstance(arg, int) and not isinstance(arg, bool):
            return "'" + go_quote(chr(arg))[1:-1].replace('\\"', '"') + "'", False
        return _bad(verb, arg), False
    if verb == "T":
        return go_type(arg), False
    if verb == "t":
        return (("true" if arg else "false"), False) if isinstance(arg, bool) else (_bad(verb, arg), False)
    if verb in "dxXob" and isinstance(arg, int) and not isinstance(arg, bool):
        return _integer(verb, arg, flags, precision), True
    if verb in "xX" and isinstance(arg, str):
        encoded = arg.encode().hex()
        return (encoded.upper() if verb == "X" else encoded), False
    if verb == "c" and isinstance(arg, int) and not isinstance(arg, bool):
        return chr(arg), False
    if verb in "fFeEgG" and isinstance(arg, float | int) and not isinstance(arg, bool):
        if isinstance(arg, int):
            return _bad(verb, arg), False
        return _sign(format_float(arg, verb, -1 if precision is None else precision), flags), True
    return _bad(verb, arg), False


def sprintf(fmt: str, args: Sequence[object]) -> str:
    """fmt.Sprintf with Go's verbs and in-band error reporting."""
    out: list[str] = []
    index = 0
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char != "%":
            out.append(char)
            i += 1
            continue
        i += 1
        flags = ""
        while i < len(fmt) and fmt[i] in "-+# 0":
            flags += fmt[i]
            i += 1
        width_text = ""
        while i < len(fmt) and fmt[i].isdigit():
            width_text += fmt[i]
            i += 1
        precision: int | None = None
        if i < len(fmt) and fmt[i] == ".":
            i += 1
            precision_text = ""
            while i < len(fmt) and fmt[i].isdigit():
                precision_text += fmt[i]
                i += 1
            precision = int(precision_text or "0")
        if i >= len(fmt):
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[index]
        index += 1
        text, numeric = _one(verb, arg, flags, precision)
        out.append(_pad(text, int(width_text) if width_text else None, flags, numeric))
    if index < len(args):
        extra = ", ".join(
            "<nil>" if a is None or a is MISSING else f"{go_type(a)}={format_value(a)}" for a in args[index:]
        )
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
