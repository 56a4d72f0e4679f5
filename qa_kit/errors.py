"""One exception family for the kit: every message says what was wrong and what to do."""
import math
import numbers


class QAKitError(Exception):
    """Base class of every error the kit raises on purpose."""


class SourceError(QAKitError):
    """A model source could not be resolved to a usable local model folder."""


class EngineError(QAKitError):
    """An engine could not be built or run on a model."""


class InputError(QAKitError, ValueError):
    """A question, context or argument was unusable (also a ValueError)."""


def whole_number(value: object, name: str, least: int = 1) -> int:
    """`value` as an int when it is a whole number (3, numpy's 3, 384.0) of at least `least`; else an InputError."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        whole = isinstance(value, numbers.Integral) or float(value).is_integer()
        if whole and value >= least:
            return int(value)
    raise InputError(f"{name}={value!r} must be a whole number, {least} or more.")


def positive_seconds(value: object, name: str, hint: str = "a number such as 30") -> float:
    """`value` as seconds when it is a finite number above 0 (not a bool); else an InputError naming `name`."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 < value < math.inf:
        return float(value)
    raise InputError(f"{name}={value!r} is not a time limit: give seconds above 0, {hint}.")
