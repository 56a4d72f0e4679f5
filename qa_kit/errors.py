"""One exception family for the kit: every message says what was wrong and what to do."""


class QAKitError(Exception):
    """Base class of every error the kit raises on purpose."""


class SourceError(QAKitError):
    """A model source could not be resolved to a usable local model folder."""


class EngineError(QAKitError):
    """An engine could not be built or run on a model."""


class InputError(QAKitError, ValueError):
    """A question, context or argument was unusable (also a ValueError)."""
