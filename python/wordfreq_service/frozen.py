"""Immutable value classes for the modules ``wordfreq count`` imports.

They would be frozen dataclasses, but importing ``dataclasses`` imports ``inspect`` (and
``ast``, ``dis``, ``re``, ``enum`` with it): ~18 ms here, half of a count's start-up
budget. A subclass lists its fields in ``__slots__`` (in the constructor's order), sets
them in ``__init__`` through ``_set`` and gets what a frozen dataclass would give:
equality and hashing by type and fields, a ``Name(field=value, ...)`` repr, no assignment
after ``__init__``, pickling.
"""

from __future__ import annotations


class Frozen:
    #: The fields, in the constructor's order (so not sorted).
    __slots__: tuple[str, ...] = ()

    def _set(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: {type(self).__name__} is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__name__} is frozen")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Frozen)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        body = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({body})"

    def __reduce__(self) -> tuple[type[Frozen], tuple[object, ...]]:
        # __init__ takes the fields in __slots__ order.
        return type(self), self._fields()
