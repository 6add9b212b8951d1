"""Errors raised by the bankscore client.

Every failed call raises a :class:`BankscoreError`, or the subclass for its gRPC status code
(:class:`InvalidArgument`, :class:`Unauthenticated`, ...), so callers can catch one status or
all of them. ``.code`` is the :class:`grpc.StatusCode`, ``.message`` the server's message as it
sent it (e.g. ``"profile.age_years: 7 is outside 18..=120"``).
"""

from __future__ import annotations

import re

import grpc

__all__ = [
    "BankscoreError",
    "Cancelled",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
]

# "profile.age_years: 7 is outside 18..=120" -> "profile.age_years"
_FIELD = re.compile(r"^([A-Za-z_][\w.\[\]]*): ")


class BankscoreError(Exception):
    """A call that failed, with its gRPC status code and the server's message.

    Attributes:
        code: the gRPC status code, e.g. ``grpc.StatusCode.INVALID_ARGUMENT``.
        message: the status message as the server sent it (or the client, for a profile it
            refused before sending).
        field: the field the message names (``"profile.age_years"``), when it starts with one.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        m = _FIELD.match(message)
        self.field: str | None = m.group(1) if m else None
        super().__init__(f"{self.code.name}: {message}")


class Cancelled(BankscoreError):
    """CANCELLED: the call was cancelled (by the client, or the connection closed)."""

    code = grpc.StatusCode.CANCELLED


class Unknown(BankscoreError):
    """UNKNOWN: e.g. a transport error, such as a TLS handshake the server refused."""

    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(BankscoreError):
    """INVALID_ARGUMENT: a bad profile or parameter; the message names the field."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(BankscoreError):
    """DEADLINE_EXCEEDED: the call took longer than its timeout, or a stream sat idle too long."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(BankscoreError):
    """NOT_FOUND: e.g. a ``model_version`` the server has not loaded."""

    code = grpc.StatusCode.NOT_FOUND


class PermissionDenied(BankscoreError):
    """PERMISSION_DENIED: a valid token without the role the service needs."""

    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(BankscoreError):
    """RESOURCE_EXHAUSTED: too many requests or bulk streams at once; retry later."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(BankscoreError):
    """FAILED_PRECONDITION: the server is not set up for this call (e.g. no outcomes log)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class OutOfRange(BankscoreError):
    """OUT_OF_RANGE: a message over the server's size limit (4 MiB by default)."""

    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(BankscoreError):
    """UNIMPLEMENTED: the server does not offer this method."""

    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(BankscoreError):
    """INTERNAL: the server failed; its log says why."""

    code = grpc.StatusCode.INTERNAL


class Unavailable(BankscoreError):
    """UNAVAILABLE: no connection to the server, or no model loaded; retry later."""

    code = grpc.StatusCode.UNAVAILABLE


class Unauthenticated(BankscoreError):
    """UNAUTHENTICATED: no token, or one the server does not know."""

    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[BankscoreError]] = {
    cls.code: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        Unauthenticated,
    )
}


def from_rpc_error(error: grpc.RpcError) -> BankscoreError:
    """The BankscoreError (subclass) for a failed gRPC call."""
    code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
    details = error.details() if hasattr(error, "details") else str(error)
    code = code or grpc.StatusCode.UNKNOWN
    cls = _BY_CODE.get(code, BankscoreError)
    return cls(details or "", code)
