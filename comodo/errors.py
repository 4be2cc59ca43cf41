"""The one exception users see: a one-line message naming the file or value and what was expected."""

import math
import numbers


class ComodoError(Exception):
    """Bad input or a bad setting. The CLI prints ``comodo: error: <message>`` and exits with 2."""


def check(condition: bool, message: str) -> None:
    """Raise :class:`ComodoError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ComodoError(message)


def is_integer(value: object) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_positive_number(value: object) -> bool:
    """A finite Python or NumPy real number > 0, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def check_seed(name: str, value: object) -> None:
    """A seed must be an integer NumPy, torch and scikit-learn all accept: 0 ≤ seed < 2**32."""
    ok = is_integer(value) and 0 <= value < 2**32
    check(ok, f"{name} {value!r}: expected an integer in [0, 2**32)")
