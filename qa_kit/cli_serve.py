"""`qa-kit serve`: DeepSparse's server for a model, in the foreground until Ctrl-C."""
from __future__ import annotations

from typing import Any

from .server_process import serve


def add_serve_arguments(parser: Any) -> None:
    """The options of `qa-kit serve`, for the CLI's sub-parser."""
    from .sources import default_model

    parser.add_argument("--model", "-m", default=None, help="catalog name, folder, .onnx file, zoo: stub or hf: repo "
                        f"(default: the kit's default model, {default_model()})")
    parser.add_argument("--port", "-p", type=int, default=5543, help="port to listen on; ask it with "
                        "qa_kit.load('http://127.0.0.1:PORT') or qa-kit ask -m http://127.0.0.1:PORT")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for the whole network)")
    parser.add_argument("--sequence-length", type=int, default=None, help="tokens per window (default: the model's own, else 384)")
    parser.add_argument("--doc-stride", type=int, default=None, help="tokens windows overlap by (default: the model's own, else 128)")
    parser.add_argument("--cores", "--num-cores", dest="num_cores", type=int, default=None, metavar="N",
                        help="cores for the engine (default: all of them: a server is meant to have the machine)")


def cmd_serve(args: Any) -> int:
    """Run `qa-kit serve`: DeepSparse's server in the foreground until Ctrl-C or another stop signal."""
    from .sources import default_model

    serve(args.model or default_model(), port=args.port, host=args.host, blocking=True,
          sequence_length=args.sequence_length, doc_stride=args.doc_stride, num_cores=args.num_cores)
    return 0
