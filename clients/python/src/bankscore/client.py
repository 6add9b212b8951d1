"""The bankscore client: one customer at a time (``score``), streams (``score_stream``) and frames
(``score_frame``) over gRPC, with bearer tokens and TLS."""

from __future__ import annotations

import collections
import itertools
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc

from . import _profile
from .errors import Internal, InvalidArgument, from_rpc_error
from .v1 import admin_pb2, admin_pb2_grpc, batch_pb2, batch_pb2_grpc, scoring_pb2, scoring_pb2_grpc

if TYPE_CHECKING:
    import pandas

__all__ = ["Client", "ScoreStream", "TlsConfig", "MAX_CHUNK", "PROFILE_FIELDS", "to_dict"]

#: Most records the server takes in one ScoreStream message (batch.proto).
MAX_CHUNK = 10_000
#: The typed ``CustomerProfile`` fields, in proto order.
PROFILE_FIELDS = _profile.PROFILE_FIELDS

PathOrBytes = Union[str, "os.PathLike[str]", bytes]
Profile = Mapping[str, Any]


def to_dict(message: Message) -> dict[str, Any]:
    """A reply as a dict, as every method of :class:`Client` returns it.

    ``google.protobuf.json_format.MessageToDict`` with ``preserving_proto_field_name=True``:
    keys are the proto field names (snake_case, ``churn_probability``, not the camelCase of
    ``bankscore call``); enums are their names (``"VALUE_TIER_A"``); fields at their default
    (``0``, ``""``, ``False``, ``[]``) are present; a message field the server left unset
    (``decision.best`` when no action is taken) is absent; 64-bit counts are ints.
    """
    return json_format.MessageToDict(
        message,
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
        unquote_int64_if_possible=True,
    )


def _read(value: PathOrBytes | None, what: str) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    try:
        with open(value, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"TLS {what} {os.fspath(value)}: cannot read the file: {e.strerror}") from None


@dataclass(frozen=True)
class TlsConfig:
    """How to reach a server that speaks TLS (and asks for a client certificate with mutual TLS).

    Attributes:
        ca_cert: PEM CA certificate(s) the server's certificate must chain to, as a path or
            bytes; ``None``: the system's trusted roots.
        client_cert: PEM client certificate (chain), path or bytes, for mutual TLS; needs
            ``client_key``.
        client_key: PEM private key of ``client_cert``, path or bytes.
        server_name: name the server's certificate must carry, when it is not the target's
            host (e.g. ``"localhost"`` for a target ``127.0.0.1:50443``).
    """

    ca_cert: PathOrBytes | None = None
    client_cert: PathOrBytes | None = None
    client_key: PathOrBytes | None = None
    server_name: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        """The gRPC channel credentials (the files are read now)."""
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("TLS client_cert and client_key go together: give both or neither")
        return grpc.ssl_channel_credentials(
            root_certificates=_read(self.ca_cert, "ca_cert"),
            private_key=_read(self.client_key, "client_key"),
            certificate_chain=_read(self.client_cert, "client_cert"),
        )


def _tls_config(tls: bool | TlsConfig | Mapping[str, Any] | None, scheme: str | None) -> TlsConfig | None:
    if isinstance(tls, Mapping):
        tls = TlsConfig(**tls)
    if tls is None:
        tls = scheme == "https"
    if tls is True:
        tls = TlsConfig()
    if tls is False:
        if scheme == "https":
            raise ValueError("an https:// target needs TLS: leave tls unset, or give True or a TlsConfig")
        return None
    if not isinstance(tls, TlsConfig):
        raise TypeError(f"tls must be None, a bool, a TlsConfig or a dict of its fields, not {type(tls).__name__}")
    if scheme == "http":
        # As `bankscore call` does: a typo in the scheme never sends profiles in the clear.
        raise ValueError("TLS settings with an http:// target: use https:// (or no scheme)")
    return tls


def _chunk_size(chunk: Any) -> int:
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK:
        raise ValueError(f"chunk must be a whole number of records in 1..={MAX_CHUNK} (the server's limit per message), not {chunk!r}")
    return chunk


def _reasons(max_reasons: Any) -> int:
    if max_reasons is None:
        return 0
    if isinstance(max_reasons, bool) or not isinstance(max_reasons, int) or max_reasons < 0:
        raise ValueError(f"max_reasons must be a whole number >= 0 (the server allows up to 32), not {max_reasons!r}")
    return max_reasons


class Client:
    """A connection to a bankscore server.

    Args:
        target: ``host:port``; ``https://host:port`` turns TLS on, ``http://host:port`` is
            plaintext.
        token: bearer token (``bankscore token`` makes one), sent as
            ``authorization: Bearer <token>`` with every call; ``None`` for a server run with
            ``--no-auth``.
        tls: ``None``/``False``: plaintext (unless the target is ``https://``); ``True``: TLS
            with the system's trusted roots; a :class:`TlsConfig` (or a dict of its fields):
            TLS with that CA, client certificate and server name.
        timeout: deadline in seconds of each unary call (``score``, ``ready``, ``models``...).
            Streams have none unless given one: the server ends idle streams itself.

    Use it as a context manager, or call :meth:`close`::

        with Client("127.0.0.1:50051", token=token) as client:
            client.score(profile)
    """

    def __init__(
        self,
        target: str,
        token: str | None = None,
        tls: bool | TlsConfig | Mapping[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> None:
        scheme = None
        for prefix in ("http://", "https://"):
            if target.startswith(prefix):
                scheme, target = prefix[:-3], target[len(prefix):].rstrip("/")
        if not target:
            raise ValueError("target must be host:port")
        if token is not None and (not isinstance(token, str) or not token or token != token.strip()):
            raise ValueError("token must be a non-empty string without surrounding whitespace")
        self.target = target
        self.timeout = timeout
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        tls_config = _tls_config(tls, scheme)
        self._options: list[tuple[str, Any]] = [
            ("grpc.primary_user_agent", "bankscore-python"),
            # Replies of big chunks can be large; the server bounds what it sends.
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ]
        if tls_config is not None and tls_config.server_name:
            self._options.append(("grpc.ssl_target_name_override", tls_config.server_name))
        self._credentials = tls_config.credentials() if tls_config is not None else None
        self._lock = threading.Lock()
        self._bulk_channel: grpc.Channel | None = None
        self._closed = False
        self.channel: grpc.Channel = self._open(self._options)
        """The gRPC channel, for the stubs of ``bankscore.v1`` this class has no method for."""
        self._scoring = scoring_pb2_grpc.ScoringServiceStub(self.channel)
        self._admin = admin_pb2_grpc.ModelAdminServiceStub(self.channel)
        self._health = health_pb2_grpc.HealthStub(self.channel)

    def _open(self, options: Sequence[tuple[str, Any]]) -> grpc.Channel:
        if self._credentials is None:
            return grpc.insecure_channel(self.target, options=options)
        return grpc.secure_channel(self.target, self._credentials, options=options)

    def _bulk(self) -> batch_pb2_grpc.BatchScoringServiceStub:
        """The batch stub, on a connection of its own (as the server's batch guide asks)."""
        with self._lock:
            if self._closed:
                raise ValueError("the client is closed")
            if self._bulk_channel is None:
                self._bulk_channel = self._open([*self._options, ("grpc.use_local_subchannel_pool", 1)])
            return batch_pb2_grpc.BatchScoringServiceStub(self._bulk_channel)

    def close(self) -> None:
        """Closes the connections; calls in flight are cancelled."""
        with self._lock:
            self._closed = True
            self.channel.close()
            if self._bulk_channel is not None:
                self._bulk_channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _unary(self, method: Any, request: Message, timeout: float | None) -> Any:
        try:
            return method(request, metadata=self._metadata, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    @staticmethod
    def _request(
        request_type: type[Message], profile: Profile, request_id: str | None, model_version: str | None, **fields: Any
    ) -> Any:
        try:
            message = _profile.profile_from_mapping(profile)
        except _profile.ProfileProblem as p:
            raise InvalidArgument(str(p)) from None
        context = scoring_pb2.RequestContext(request_id=request_id or "", model_version=model_version or "")
        return request_type(context=context, profile=message, **fields)

    def score(
        self,
        profile: Profile,
        *,
        request_id: str | None = None,
        model_version: str | None = None,
        max_reasons: int | None = None,
        include_ineligible: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Value, tier, churn probability and next best action of one customer (``ScoringService/Score``).

        Args:
            profile: the customer, keyed by ``CustomerProfile`` field names
                (``{"customer_id": "C-1", "age_years": 42, ...}``, every typed field required),
                with ``extra_features`` a dict of numbers; numpy scalars are fine, ``None`` or
                NaN counts as missing.
            request_id: echoed in the reply; the server assigns one when ``None``.
            model_version: a loaded version to pin; ``None``: the live one.
            max_reasons: churn reasons to return (``None`` or 0: 3, at most 32).
            include_ineligible: also list the actions eligibility rules excluded.
            timeout: this call's deadline in seconds (default: the client's).

        Returns:
            The ``ScoreResponse`` as a dict (see :func:`to_dict`): ``model``, ``request_id``,
            ``value``, ``tier``, ``churn``, ``decision``.

        Raises:
            InvalidArgument: a bad profile; ``.message`` names the field
                (``"profile.age_years: 7 is outside 18..=120"``).
            Unauthenticated, PermissionDenied, NotFound, Unavailable, BankscoreError: see
                :mod:`bankscore.errors`.
        """
        request = self._request(
            scoring_pb2.ScoreRequest,
            profile,
            request_id,
            model_version,
            max_reasons=_reasons(max_reasons),
            include_ineligible=include_ineligible,
        )
        return to_dict(self._unary(self._scoring.Score, request, timeout))

    def classify_value_tier(
        self, profile: Profile, *, request_id: str | None = None, model_version: str | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Value parts and tier of one customer (``ScoringService/ClassifyValueTier``); arguments as :meth:`score`."""
        request = self._request(scoring_pb2.ClassifyValueTierRequest, profile, request_id, model_version)
        return to_dict(self._unary(self._scoring.ClassifyValueTier, request, timeout))

    def predict_churn(
        self,
        profile: Profile,
        *,
        request_id: str | None = None,
        model_version: str | None = None,
        max_reasons: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Churn probability and its reasons (``ScoringService/PredictChurn``); arguments as :meth:`score`."""
        request = self._request(
            scoring_pb2.PredictChurnRequest, profile, request_id, model_version, max_reasons=_reasons(max_reasons)
        )
        return to_dict(self._unary(self._scoring.PredictChurn, request, timeout))

    def recommend_retention_action(
        self,
        profile: Profile,
        *,
        request_id: str | None = None,
        model_version: str | None = None,
        include_ineligible: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Next best retention action (``ScoringService/RecommendRetentionAction``); arguments as :meth:`score`."""
        request = self._request(
            scoring_pb2.RecommendRetentionActionRequest,
            profile,
            request_id,
            model_version,
            include_ineligible=include_ineligible,
        )
        return to_dict(self._unary(self._scoring.RecommendRetentionAction, request, timeout))

    def score_stream(
        self,
        profiles: Iterable[Profile],
        chunk: int = 2000,
        *,
        model_version: str | None = None,
        max_reasons: int | None = None,
        timeout: float | None = None,
    ) -> ScoreStream:
        """Scores many customers over one ``BatchScoringService/ScoreStream``, lazily, in input order.

        ``profiles`` is read as the server asks for more (it is never held whole in memory) and
        sent ``chunk`` records per message; record ids are the positions in the input
        (``"0"``, ``"1"``, ...). Exactly one result is yielded per profile, in input order:

        - ``{"record_id": "17", "assessment": {"churn_probability": ..., "value": {...},
          "tier": "VALUE_TIER_A", "key_account": ..., "best_action_id": ...,
          "best_expected_value": ..., "candidates": [...], "top_reasons": [...], ...}}``;
        - or, for a record that was refused, ``{"record_id": "17", "error": {"field":
          "profile.age_years", "reason": "7 is outside 18..=120"}}``, and the stream goes on.
          A profile the client cannot encode (a text in a count, a negative count, a key that
          is no profile field) is refused the same way without being sent.

        Args:
            profiles: dicts as for :meth:`score`.
            chunk: records per message, 1..=10000. The reply to a chunk must stay under the
                server's 4 MiB message limit (else the stream fails with ``OutOfRange``): about
                320 bytes per record with five candidate actions and no reasons, about 1,700
                with 32 reasons, so keep ``chunk`` at 2000 or less when asking for reasons.
            model_version: a loaded version for the whole stream; ``None``: the champion.
            max_reasons: churn reasons per record, 0..=32 (``None``: none, the fastest).
            timeout: deadline of the whole stream in seconds (default: none).

        Returns:
            An iterator of dicts; its ``model`` attribute names the model scoring the stream
            once the first reply has arrived. Stopping early (``break``, ``close()``) cancels
            the stream.

        Raises:
            ValueError: ``chunk`` outside 1..=10000 (at once, before anything is sent).
            BankscoreError: the stream failed as a whole (e.g. ``Unauthenticated``,
                ``NotFound`` for an unknown ``model_version``, ``ResourceExhausted`` when the
                server runs its maximum of bulk streams), raised by the iterator.
        """
        return ScoreStream(self, profiles, _chunk_size(chunk), model_version or "", _reasons(max_reasons), timeout)

    def score_frame(
        self,
        df: pandas.DataFrame,
        chunk: int = 2000,
        *,
        model_version: str | None = None,
        max_reasons: int | None = None,
        timeout: float | None = None,
    ) -> pandas.DataFrame:
        """Scores every row of a DataFrame (one customer per row) over :meth:`score_stream`.

        Columns named as ``CustomerProfile`` fields fill those fields (booleans may be
        ``True``/``False`` or 0/1, counts may be floats when the column has gaps); a column
        ``extra.<name>`` becomes ``extra_features[<name>]``, and any other column, which must be
        numeric or boolean, ``extra_features[<column>]`` (drop columns such as a ``churned``
        label first). NaN/None/NA is a missing value: in a required field the server refuses
        that row, and its result row carries the error.

        Returns:
            A DataFrame with the input's index and order, one row per input row, with columns
            ``customer_id``, ``churn_probability``, ``value_tier`` (``"A"``, ``"B"``, ``"C"``,
            ``"sleeping"``), ``key_account``, ``realized_value``, ``potential_value``,
            ``influence_value``, ``total_value``, ``value_at_risk``, ``best_action_id`` (``""``
            when no action is worth its cost), ``best_expected_value``, ``propensity``,
            ``control_group``, ``withheld_action_id``, ``candidates`` (list of
            ``{"action_id", "expected_value", "cost"}``), ``reason_<k>`` and
            ``reason_<k>_contribution`` for k up to ``max_reasons``, ``error_field`` and
            ``error`` (``"profile.age_years: 7 is outside 18..=120"``; ``""`` for scored rows,
            whose other columns are then set; error rows have NaN/None there).
            ``result.attrs["model"]`` names the model that scored the frame.

        Raises:
            ImportError: pandas is not installed (``pip install 'bankscore[pandas]'``).
            ValueError: a bad ``chunk``, or a column that is neither a profile field nor numeric.
            BankscoreError: as :meth:`score_stream`.
        """
        from ._frame import score_frame

        return score_frame(self, df, _chunk_size(chunk), model_version or "", _reasons(max_reasons), timeout)

    def ready(self, service: str = "bankscore.v1.ScoringService", timeout: float | None = None) -> bool:
        """Whether the server answers ``grpc.health.v1.Health/Check`` with SERVING for ``service``.

        ``""`` asks about the server as a whole. Health checks need no token. ``False`` too when
        the server cannot be reached in time (UNAVAILABLE, DEADLINE_EXCEEDED) or does not know
        the service (NOT_FOUND).
        """
        try:
            reply = self._health.Check(
                health_pb2.HealthCheckRequest(service=service),
                timeout=self.timeout if timeout is None else timeout,
            )
        except grpc.RpcError as e:
            if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.NOT_FOUND):
                return False
            raise from_rpc_error(e) from None
        return reply.status == health_pb2.HealthCheckResponse.SERVING

    def models(self, timeout: float | None = None) -> dict[str, Any]:
        """The served model, its versions and their states (``ModelAdminService/ListModels``; role ``admin``).

        Returns:
            The ``ListModelsResponse`` as a dict: ``model_name``, ``versions`` (each with
            ``version``, ``state`` such as ``"VERSION_STATE_CHAMPION"``, ``checksum``,
            ``trained_at``, ``roc_auc``...), ``shadow`` when a challenger is loaded,
            ``reloads_total``, ``bulk_streams_active``...

        Raises:
            PermissionDenied: the token lacks the ``admin`` role.
        """
        return to_dict(self._unary(self._admin.ListModels, admin_pb2.ListModelsRequest(), timeout))


class ScoreStream(Iterator[dict[str, Any]]):
    """The results of :meth:`Client.score_stream`: one dict per input profile, in input order.

    Attributes:
        model: ``{"name", "version", "checksum"}`` of the model scoring the stream, once its
            first reply has arrived (``None`` before).
    """

    def __init__(
        self,
        client: Client,
        profiles: Iterable[Profile],
        chunk: int,
        model_version: str,
        max_reasons: int,
        timeout: float | None,
    ) -> None:
        self.model: dict[str, Any] | None = None
        self._messages = _stream(client, profiles, chunk, model_version, max_reasons, timeout, self._set_model)

    def _set_model(self, model: scoring_pb2.ModelRef) -> None:
        self.model = to_dict(model)

    def __iter__(self) -> ScoreStream:
        return self

    def __next__(self) -> dict[str, Any]:
        return to_dict(next(self._messages))

    def close(self) -> None:
        """Stops reading and cancels the stream (also done when the iterator is dropped)."""
        self._messages.close()

    def __enter__(self) -> ScoreStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stream(
    client: Client,
    profiles: Iterable[Any],
    chunk: int,
    model_version: str,
    max_reasons: int,
    timeout: float | None,
    on_model: Any,
) -> Iterator[batch_pb2.StreamResult]:
    """The engine of score_stream and score_frame: StreamResult messages in input order.

    gRPC reads the request generator below on a thread of its own, as the server asks for more;
    it notes each position it sends (or refuses locally) in ``pending``, in input order, before
    sending, so every result that comes back finds its position at the head of the queue.
    """
    inputs = iter(profiles)
    try:
        first = next(inputs)
    except StopIteration:
        return
    inputs = itertools.chain([first], inputs)
    pending: collections.deque[tuple[int, batch_pb2.StreamResult | None]] = collections.deque()
    failure: list[BaseException] = []  # what the input iterable raised, re-raised to the caller

    def requests() -> Iterator[batch_pb2.ScoreStreamRequest]:
        position = 0
        settings = {"model_version": model_version, "max_reasons": max_reasons}
        while True:
            records = []
            try:
                taken = 0
                for profile in itertools.islice(inputs, chunk):
                    taken += 1
                    record_id = str(position)
                    try:
                        message = _profile.profile_from_mapping(profile)
                    except _profile.ProfileProblem as p:
                        error = batch_pb2.RecordError(field=p.field, reason=p.reason)
                        pending.append((position, batch_pb2.StreamResult(record_id=record_id, error=error)))
                    else:
                        records.append(batch_pb2.StreamRecord(record_id=record_id, profile=message))
                        pending.append((position, None))
                    position += 1
            except BaseException as e:  # the caller's iterable failed: end the stream cleanly
                failure.append(e)
                taken = 0
            if records:
                yield batch_pb2.ScoreStreamRequest(records=records, **settings)
                settings = {}  # read from the first message only
            if taken < chunk:
                return

    call = client._bulk().ScoreStream(requests(), metadata=client._metadata, timeout=timeout)
    try:
        for response in call:
            if response.HasField("model"):
                on_model(response.model)
            for result in response.results:
                while pending and pending[0][1] is not None:
                    yield pending.popleft()[1]
                if not pending:
                    raise Internal(f"the server sent a result for record {result.record_id!r}, which was not sent")
                position, _ = pending.popleft()
                if result.record_id != str(position):
                    raise Internal(
                        f"the server sent the result of record {result.record_id!r} where record {position} was expected"
                    )
                yield result
    except grpc.RpcError as e:
        raise from_rpc_error(e) from None
    finally:
        call.cancel()  # a no-op once the stream has ended; stops it when the caller stops early
    while pending:  # records refused locally after the last one sent
        position, local = pending.popleft()
        if local is None:
            raise Internal(f"the stream ended without the result of record {position}")
        yield local
    if failure:  # the results of everything before the failing input have been yielded
        raise failure[0]
