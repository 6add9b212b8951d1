"""Customer profiles from Python values: dicts, pandas rows, numpy scalars."""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from .v1 import scoring_pb2

_UINT32_MAX = 2**32 - 1
_FIELDS = {
    f.name: f for f in scoring_pb2.CustomerProfile.DESCRIPTOR.fields if f.name != "extra_features"
}
#: The typed fields of ``CustomerProfile``, in proto order (``customer_id`` first).
PROFILE_FIELDS: tuple[str, ...] = tuple(_FIELDS)


class ProfileProblem(ValueError):
    """A profile value the client cannot put into a CustomerProfile (field, reason)."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


def is_missing(value: Any) -> bool:
    """None, NaN (float or numpy), pandas NA or NaT: a value the caller does not have."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    name = type(value).__name__
    if name in ("NAType", "NaTType"):
        return True
    if getattr(value, "dtype", None) is not None and getattr(value.dtype, "kind", "") == "f":
        return math.isnan(float(value))
    return False


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b"


def _whole(field: str, value: Any) -> int:
    """A non-negative whole number for a uint32 field (12, numpy.int64(12) or 12.0)."""
    if _is_bool(value) or isinstance(value, (str, bytes)):
        raise ProfileProblem(field, f"{_describe(value)} is not a whole number")
    try:
        number = operator.index(value)  # int, numpy integers
    except TypeError:
        try:
            real = float(value)  # float, numpy floats (a pandas int column with gaps)
        except (TypeError, ValueError):
            raise ProfileProblem(field, f"{_describe(value)} is not a whole number") from None
        if not math.isfinite(real) or not real.is_integer():
            raise ProfileProblem(field, f"{value!r} is not a whole number") from None
        number = int(real)
    if not 0 <= number <= _UINT32_MAX:
        raise ProfileProblem(field, f"{number} is outside 0..={_UINT32_MAX}")
    return number


def _real(field: str, value: Any) -> float:
    """A float for a double field (non-finite values go to the server, which refuses them)."""
    if _is_bool(value) or isinstance(value, (str, bytes)):
        raise ProfileProblem(field, f"{_describe(value)} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ProfileProblem(field, f"{_describe(value)} is not a number") from None


def _flag(field: str, value: Any) -> bool:
    """True or False for a bool field; 0/1 (as CSV files write them) are accepted."""
    if _is_bool(value):
        return bool(value)
    if isinstance(value, (str, bytes)):
        raise ProfileProblem(field, f"{_describe(value)} is not true/false or 0/1")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProfileProblem(field, f"{_describe(value)} is not true/false or 0/1") from None
    if number == 0.0:
        return False
    if number == 1.0:
        return True
    raise ProfileProblem(field, f"{value!r} is not true/false or 0/1")


def _text(field: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ProfileProblem(field, f"{_describe(value)} is not a string")
    try:
        return str(operator.index(value))  # an integer id read from a file
    except TypeError:
        raise ProfileProblem(field, f"{_describe(value)} is not a string") from None


def set_field(profile: scoring_pb2.CustomerProfile, name: str, value: Any) -> None:
    """Sets one typed field; a missing value (None, NaN, NA) leaves it unset."""
    field = _FIELDS.get(name)
    if field is None:
        raise ProfileProblem(
            f"profile.{name}",
            "is not a CustomerProfile field (model-specific features go in extra_features)",
        )
    if is_missing(value):
        return
    path = f"profile.{name}"
    if field.type == FieldDescriptor.TYPE_STRING:
        setattr(profile, name, _text(path, value))
    elif field.type == FieldDescriptor.TYPE_UINT32:
        setattr(profile, name, _whole(path, value))
    elif field.type == FieldDescriptor.TYPE_DOUBLE:
        setattr(profile, name, _real(path, value))
    elif field.type == FieldDescriptor.TYPE_BOOL:
        setattr(profile, name, _flag(path, value))
    else:  # a field type this client does not know yet
        setattr(profile, name, value)


def set_extra(profile: scoring_pb2.CustomerProfile, key: Any, value: Any) -> None:
    """Sets one ``extra_features`` entry; a missing value leaves it out."""
    if not isinstance(key, str):
        raise ProfileProblem("profile.extra_features", f"key {_describe(key)} is not a string")
    if is_missing(value):
        return
    if _is_bool(value):
        value = float(value)
    profile.extra_features[key] = _real(f"profile.extra_features.{key}", value)


def profile_from_mapping(profile: Mapping[str, Any]) -> scoring_pb2.CustomerProfile:
    """A CustomerProfile from a dict keyed by proto field names (``extra_features`` a dict).

    Raises:
        ProfileProblem: a value of the wrong type, or a key that is no profile field.
    """
    if isinstance(profile, scoring_pb2.CustomerProfile):
        return profile
    if not isinstance(profile, Mapping):
        raise ProfileProblem("profile", f"expected a dict of profile fields, got {type(profile).__name__}")
    message = scoring_pb2.CustomerProfile()
    for name, value in profile.items():
        if name == "extra_features":
            if is_missing(value):
                continue
            if not isinstance(value, Mapping):
                raise ProfileProblem("profile.extra_features", f"{_describe(value)} is not a dict")
            for key, extra in value.items():
                set_extra(message, key, extra)
        else:
            set_field(message, name, value)
    return message
