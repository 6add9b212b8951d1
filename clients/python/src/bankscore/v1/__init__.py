"""Protocol buffer and gRPC modules of the ``bankscore.v1`` API.

``scoring_pb2``, ``batch_pb2``, ``admin_pb2``, ``outcomes_pb2`` and their ``*_pb2_grpc``
companions are generated from ``proto/bankscore/v1/*.proto`` when the package is built; they
are not part of the source tree. Most callers use :class:`bankscore.Client` instead.
"""
