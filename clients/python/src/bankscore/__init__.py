"""Python client of the bankscore gRPC service.

bankscore tells a retail bank, per customer, the value tier, the churn probability and the next
best retention action. :class:`Client` calls it one customer at a time (:meth:`Client.score`),
as a stream (:meth:`Client.score_stream`) or a pandas DataFrame (:meth:`Client.score_frame`);
failed calls raise a :class:`BankscoreError` subclass named after the gRPC status.
The generated protocol buffer modules are in :mod:`bankscore.v1`.
"""

from __future__ import annotations

from .client import MAX_CHUNK, PROFILE_FIELDS, Client, ScoreStream, TlsConfig, to_dict
from .errors import (
    BankscoreError,
    Cancelled,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)

__version__ = "0.1.0"

__all__ = [
    "MAX_CHUNK",
    "PROFILE_FIELDS",
    "BankscoreError",
    "Cancelled",
    "Client",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "ScoreStream",
    "TlsConfig",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "to_dict",
]
