"""What the Python checks of scripts/ share: gRPC stubs generated from proto/ with grpcio-tools,
and customer profiles from the CSV rows `bankscore generate` writes."""
import os
import sys


def generate(root, out):
    """Writes the `inference` and `bankscore.v1` stubs of ROOT/proto into OUT and puts OUT on
    sys.path."""
    from grpc_tools import protoc
    import grpc_tools

    protos = ["inference/grpc_predict_v2.proto"] + [
        f"bankscore/v1/{n}" for n in sorted(os.listdir(os.path.join(root, "proto/bankscore/v1")))]
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    os.makedirs(out, exist_ok=True)
    if protoc.main(["protoc", f"-I{root}/proto", f"-I{include}", f"--python_out={out}",
                    f"--grpc_python_out={out}"] + protos) != 0:
        raise SystemExit("grpc_tools.protoc failed")
    sys.path.insert(0, out)


def profile(row):
    """The `CustomerProfile` of one CSV row (label column ignored); stubs must be generated."""
    from bankscore.v1 import scoring_pb2

    fields = scoring_pb2.CustomerProfile.DESCRIPTOR.fields_by_name
    p = scoring_pb2.CustomerProfile(customer_id=row["customer_id"])
    for name, value in row.items():
        if name in ("customer_id", "churned"):
            continue
        kind = fields[name].type
        if kind == fields[name].TYPE_BOOL:
            setattr(p, name, value == "1")
        elif kind == fields[name].TYPE_DOUBLE:
            setattr(p, name, float(value))
        else:
            setattr(p, name, int(value))
    return p
