"""Numbers in words people read: counts, ratios, intervals, lists."""

from __future__ import annotations


def format_count(n: float) -> str:
    """A count in words people read: 850, 8.5k, 85M, 1.2B, 9.6T; beyond 1e15, 3.2e+17 (no "9.58e+03B")."""
    if n >= 1e15:
        return f"{n:.3g}"
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if n >= threshold:
            return f"{n / threshold:.3g}{suffix}"
    return f"{n:.3g}"


def format_value(value) -> str:
    """A setting's value as text: numbers in short general form (1437, 0.001), anything else as is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    try:
        return f"{float(value):g}" if hasattr(value, "dtype") else str(value)
    except (TypeError, ValueError):
        return str(value)


def format_factor(factor: float) -> str:
    """A ratio as people say it: 1.8x, 12x, 340x."""
    return f"{factor:.2g}x" if factor < 10 else f"{factor:.0f}x"


def format_percent(fraction: float, *, signed: bool = False) -> str:
    """0.0123 -> '1.2%', 1.5 -> '150%', 0.0031 -> '0.31%', 0.1 -> '10%': two significant digits, never in exponent form
    (a 0.3% change printed to whole percents read "cut by 0% (95% CI 0-1%)")."""
    percent, sign = fraction * 100, "+" if signed else ""
    if 0.01 <= abs(percent) < 99.5:  # 'g' rounds to two digits first, so 9.99999 prints as 10, not 10.0
        return f"{percent:{sign}.2g}%"
    return f"{percent:{sign}.0f}%" if abs(percent) >= 99.5 else f"{percent:{sign}.2f}%"


def format_change(before: float, after: float) -> str:
    """'1.11 to 1.1': two values of a change in 3 significant digits, or as many more (up to 6)
    as it takes for them to differ ('1.093 to 1.090', not '1.09 to 1.09')."""
    for digits in range(3, 7):
        style = "" if digits == 3 else "#"  # past 3 digits, keep trailing zeros: '1.093 to 1.090'
        texts = f"{before:{style}.{digits}g}", f"{after:{style}.{digits}g}"
        if texts[0] != texts[1]:
            return f"{texts[0]} to {texts[1]}"
    return f"{before:.3g} to {after:.3g}"  # equal to 6 digits: no change to show


def format_interval(low: float | None, high: float | None, *, count: bool = False, digits: int = 3) -> str:
    """' (95% CI a to b)', or '' when there is no interval; counts as 8.5k, other numbers to `digits`.
    Every interval in the report's prose reads 'a to b' (a hyphen is ambiguous beside negative numbers
    and exponents such as 1e-05)."""
    if low is None or high is None:
        return ""
    if count:
        return f" (95% CI {format_count(low)} to {format_count(high)})"
    return f" (95% CI {low:.{digits}g} to {high:.{digits}g})"


def join_words(parts: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
