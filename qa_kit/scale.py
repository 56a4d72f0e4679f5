"""Scale-out: many questions asked at once, over threads (servers) or over a Dask cluster's workers.

Two tools, one result type (`Outcome`: answers or error, who answered, how long it took):

- `fan_out_each` / `fan_out`: threads, each tied to one reader or DeepSparse server URL, taking
  the next unasked question. The simple tool for a list of running servers.
- `on_dask`: a `dask.distributed.Client`. Questions go out in batches; each worker loads and
  compiles each model once (a per-process cache keyed by source and read options: readers hold
  compiled engines and do not pickle, so a `ReadSpec` travels instead) and answers come back in
  question order. A batch whose worker dies is run again by the scheduler; past its allowed
  failures its questions come back with the error. A model that cannot load says so once.

Dask is the optional `dask` extra: without it, `client=` is refused in one line.
"""
from __future__ import annotations

import dataclasses
import math
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import pandas as pd

from .errors import InputError, QAKitError, whole_number
from .reader_protocol import ModelLike, ReaderLike
from .text import one_line

if TYPE_CHECKING:
    from .server import Timeout

LOCAL = "local"  # the worker name of questions answered in this process
DASK_HINT = "pip install 'qa-kit[dask]'"
WAIT_FOR_WORKERS = 60.0  # seconds a cluster with no workers yet is given to get one
MAX_BATCH = 16  # questions per Dask task at most: small enough to balance and to lose little to a dead worker


@dataclass
class Outcome:
    """One question's fate: its answers or its error, which worker answered, and the seconds it took."""

    answers: Any = None  # Answers (or whatever the reader's ask returned), None when it failed
    error: Optional[str] = None  # one line: "ErrorType: message"
    worker: str = LOCAL
    seconds: float = float("nan")
    exception: Optional[BaseException] = None  # the live exception, for questions asked in this process


def error_text(error: BaseException) -> str:
    """A one-line description of a failure, short enough for a table cell."""
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return one_line(text, 300)


def _contexts(questions: Sequence[str], context: Union[str, Sequence[str]]) -> List[str]:
    contexts = [context] * len(questions) if isinstance(context, str) else list(context)
    if len(contexts) != len(questions):
        raise InputError(f"{len(questions)} questions but {len(contexts)} contexts: give one context, or one per question.")
    return contexts


# ---------------------------------------------------------------------------------------------
# threads over servers (or readers)


def _as_reader(item: ModelLike, timeout: "Timeout" = None) -> ReaderLike:
    if isinstance(item, str):
        from .server import ServerReader

        return ServerReader(item, timeout=timeout)
    if not hasattr(item, "ask"):
        raise InputError(f"{item!r} is neither a server URL nor a reader: give URLs like http://127.0.0.1:5543 or readers.")
    return item


def _worker_label(reader: ReaderLike, n: int) -> str:
    for attr in ("url", "name", "source"):
        value = getattr(reader, attr, None)
        if isinstance(value, str) and value:
            return value
    return f"reader {n + 1}"


def fan_out_each(
    readers_or_urls: Sequence[ModelLike],
    questions: Sequence[str],
    context: Union[str, Sequence[str]],
    top_k: int = 1,
    max_workers: Optional[int] = None,
    timeout: "Timeout" = None,
    *,
    stop_on_error: bool = False,
    on_done: Optional[Callable[[int], None]] = None,
) -> List[Outcome]:
    """Ask many questions over several servers (or readers) at once: one Outcome per question, in order.

    `context` is one text for all questions or one per question. Threads share the work: each is
    tied to one server and takes the next unasked question, so a faster server takes more. Threads,
    never forked processes: DeepSparse hangs in fork pools. A failed question keeps its error and
    the others go on, unless `stop_on_error` (then unasked questions get neither). `on_done(i)`
    is called, from a worker thread, as question i finishes.
    """
    readers = [_as_reader(r, timeout) for r in readers_or_urls]
    if not readers:
        raise InputError("fan_out needs at least one server URL or reader.")
    questions = list(questions)
    contexts = _contexts(questions, context)
    workers = max_workers or 2 * len(readers)  # two in flight per server: one runs while the next travels
    if workers < 1:
        raise InputError(f"max_workers={max_workers!r} must be 1 or more.")
    labels = [_worker_label(r, n) for n, r in enumerate(readers)]
    if len(set(labels)) < len(labels):  # the same URL twice, or two readers of one model
        labels = [f"{label} #{n + 1}" for n, label in enumerate(labels)]
    todo: "queue.Queue[int]" = queue.Queue()
    for i in range(len(questions)):
        todo.put(i)
    results: List[Outcome] = [Outcome() for _ in questions]
    stopped = threading.Event()

    def work(n: int) -> None:
        reader, label = readers[n], labels[n]
        while not stopped.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            began = time.perf_counter()
            try:
                results[i] = Outcome(reader.ask(questions[i], contexts[i], top_k=top_k), None, label,
                                     time.perf_counter() - began)
            except BaseException as error:  # handed to the caller with its question
                results[i] = Outcome(None, error_text(error), label, time.perf_counter() - began, error)
                if stop_on_error:
                    stopped.set()
            if on_done is not None:
                on_done(i)

    threads = [threading.Thread(target=work, args=(n % len(readers),), daemon=True, name=f"qa-kit fan-out {n}")
               for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def fan_out(
    readers_or_urls: Sequence[ModelLike],
    questions: Sequence[str],
    context: Union[str, Sequence[str]],
    top_k: int = 1,
    max_workers: Optional[int] = None,
    timeout: "Timeout" = None,
) -> List[Any]:
    """fan_out_each for when every question must be answered: the answers in question order.

    The first error stops the run, and the error of the earliest failed question is raised.
    """
    results = fan_out_each(readers_or_urls, questions, context, top_k, max_workers, timeout, stop_on_error=True)
    for outcome in results:
        if outcome.exception is not None:
            raise outcome.exception
    return [outcome.answers for outcome in results]


def ask_here(readers: Sequence[ReaderLike], questions: Sequence[str], contexts: Sequence[str], top_k: int = 1,
             on_done: Optional[Callable[[int], None]] = None) -> List[Outcome]:
    """Every question asked in this process: of one reader in turn (it uses every core it was
    given), or over several readers or a server by threads (fan_out_each). Ctrl-C stops it."""
    if len(readers) > 1 or getattr(readers[0], "engine_name", None) == "server":
        outcomes = fan_out_each(readers, questions, contexts, top_k, on_done=on_done)
        for outcome in outcomes:
            if isinstance(outcome.exception, (KeyboardInterrupt, SystemExit)):
                raise outcome.exception
        return outcomes
    outcomes = []
    for i, (question, context) in enumerate(zip(questions, contexts)):
        began = time.perf_counter()
        try:
            outcomes.append(Outcome(readers[0].ask(question, context, top_k=top_k), None, LOCAL,
                                    time.perf_counter() - began))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001 (kept with its question; tokenizer panics are BaseExceptions)
            outcomes.append(Outcome(None, error_text(error), LOCAL, time.perf_counter() - began, error))
        if on_done is not None:
            on_done(i)
    return outcomes


def throughput(urls: Sequence[str], questions: Sequence[str], context: Union[str, Sequence[str]],
               timeout: "Timeout" = None) -> Dict[str, float]:
    """Questions per second on the first server alone, then on all of them together (after a warm-up)."""
    readers = [_as_reader(u, timeout) for u in urls]
    if not readers or not questions:
        raise InputError("throughput needs at least one server URL and one question.")
    first_context = context if isinstance(context, str) else context[0]
    for reader in readers:
        reader.ask(questions[0], first_context)  # warm-up: first requests pay for connections and caches

    def rate(group: List[Any]) -> Tuple[float, float]:
        began = time.perf_counter()
        fan_out(group, questions, context)
        seconds = time.perf_counter() - began
        return len(questions) / seconds, seconds

    one_qps, one_seconds = rate(readers[:1])
    all_qps, all_seconds = rate(readers)
    return {
        "servers": len(readers), "questions": len(questions),
        "one_server_qps": one_qps, "one_server_seconds": one_seconds,
        "all_servers_qps": all_qps, "all_servers_seconds": all_seconds,
        "speedup": all_qps / one_qps,
    }


# ---------------------------------------------------------------------------------------------
# what travels to a Dask worker instead of a reader


@dataclass(frozen=True)
class ReadSpec:
    """A model as a worker loads it: its source and read options (hashable: the worker cache's key)."""

    source: str
    engine: str = "deepsparse"
    sequence_length: Optional[int] = None
    doc_stride: Optional[int] = None
    num_cores: Union[int, str, None] = None  # None: as many as the worker has threads
    max_answer_length: int = 15
    n_best_size: int = 20


def spec_for(model: ModelLike, *, engine: str = "deepsparse", sequence_length: Optional[int] = None,
             doc_stride: Optional[int] = None, num_cores: Union[int, str, None] = None) -> ReadSpec:
    """The ReadSpec of a source string or a loaded reader (its source and options, not its engine).

    A local path is made absolute here, so workers started elsewhere (another folder) find it;
    on a real cluster it must exist on the workers too. A reader's core count travels only when
    it was chosen (a worker has its own cores).
    """
    if isinstance(model, str):
        source = model.strip()
        path = Path(source).expanduser()
        if source and path.exists():
            source = str(path.resolve())
        return ReadSpec(source, engine, sequence_length, doc_stride, num_cores)
    if getattr(model, "engine_name", None) == "server" and isinstance(getattr(model, "url", None), str):
        return ReadSpec(model.url, "server")
    source, model_dir = getattr(model, "source", None), getattr(model, "model_dir", None)
    if not isinstance(source, str) or model_dir is None:
        raise InputError(f"A {type(model).__name__} cannot travel to Dask workers (they load models themselves): "
                         "give a source string or a reader from qa_kit.load().")
    if Path(source).expanduser().exists():
        source = str(Path(source).expanduser().resolve())
    cores = getattr(model, "cores", None)
    chosen = num_cores if num_cores is not None else (cores.count if getattr(cores, "reason", "") == "chosen" else None)
    return ReadSpec(source, model.engine_name, model.sequence_length, model.doc_stride, chosen,
                    model.max_answer_length, model.n_best_size)


# ---------------------------------------------------------------------------------------------
# the worker's side: one reader per spec per process, kept between tasks


_readers: Dict[ReadSpec, ReaderLike] = {}  # spec -> Reader
_failed: Dict[ReadSpec, Tuple[str, str]] = {}  # spec -> (run, one line saying why it did not load in that run)
_loading: Dict[ReadSpec, threading.Lock] = {}
_guard = threading.Lock()


def _worker_cores(spec: ReadSpec) -> Union[int, str, None]:
    if spec.num_cores is not None:
        return spec.num_cores
    from .cores import available_cores

    try:
        from distributed import get_worker

        threads = int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None
    return max(1, min(threads, available_cores()))


def worker_reader(spec: ReadSpec, run: str = "") -> Tuple[ReaderLike, float]:
    """This process's reader for `spec` and the seconds spent loading it now (0.0 when cached).

    Raises a QAKitError carrying the failure's message when the model did not load here: tried
    once per process and `run`, so a later run (the network back, a file fixed) tries again.
    """
    with _guard:
        lock = _loading.setdefault(spec, threading.Lock())
    with lock:
        if spec in _failed and _failed[spec][0] == run:
            raise QAKitError(_failed[spec][1])
        if spec not in _readers:
            began = time.perf_counter()
            try:
                from .reader import load

                if spec.engine == "server":
                    _readers[spec] = load(spec.source)
                else:
                    _readers[spec] = load(spec.source, spec.engine, spec.sequence_length, spec.doc_stride,
                                          num_cores=_worker_cores(spec), max_answer_length=spec.max_answer_length,
                                          n_best_size=spec.n_best_size)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as error:  # noqa: BLE001 (tokenizer panics are BaseExceptions)
                _failed[spec] = (run, error_text(error))
                raise QAKitError(_failed[spec][1]) from None
            _failed.pop(spec, None)
            return _readers[spec], time.perf_counter() - began
        return _readers[spec], 0.0


def _answer_batch(spec: ReadSpec, items: List[Tuple[int, str, str]], top_k: int, run: str = "") -> Dict[str, Any]:
    """A Dask task: answer (index, question, context) items with this worker's reader for `spec`."""
    try:
        from distributed import get_worker

        address = get_worker().address
    except (ImportError, ValueError):
        address = f"pid {os.getpid()}"
    try:
        reader, load_seconds = worker_reader(spec, run)
    except QAKitError as failed:
        return {"worker": address, "load_error": str(failed), "load_seconds": 0.0, "rows": []}
    rows = []
    for index, question, context in items:
        began = time.perf_counter()
        try:
            answers = reader.ask(question, context, top_k=top_k, progress=False)
            if dataclasses.is_dataclass(answers) and getattr(answers, "context", None) == context:
                answers = dataclasses.replace(answers, context="")  # the client has it: do not send it back
            rows.append((index, answers, None, time.perf_counter() - began))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # noqa: BLE001
            rows.append((index, None, error_text(error), time.perf_counter() - began))
    return {"worker": address, "load_error": None, "load_seconds": load_seconds, "rows": rows}


# ---------------------------------------------------------------------------------------------
# the client's side


def require_dask() -> Any:
    """The `distributed` module, or a one-line kit error saying what to install."""
    try:
        import distributed
    except ImportError:
        raise InputError(f"client= runs on Dask, which is not installed: {DASK_HINT}.") from None
    return distributed


def check_client(client: Any) -> Any:
    """`client` when it is a running dask.distributed Client; else a kit error saying what to give."""
    distributed = require_dask()
    if not isinstance(client, distributed.Client):
        raise InputError(f"client={client!r} is not a dask.distributed Client: give Client(address) or "
                         "Client(LocalCluster()).")
    if client.status != "running":
        raise InputError(f"The Dask client is {client.status}, not running: connect a new Client.")
    return client


@dataclass
class DaskRun:
    """One model's questions on a cluster: an Outcome per question, and why it could not load, if so."""

    outcomes: List[Outcome]
    load_error: Optional[str] = None  # "could not load on WORKER: ErrorType: message", once
    load_seconds: Dict[str, float] = dataclasses.field(default_factory=dict)  # worker -> seconds loading it


def _batches(n: int, workers: int, batch_size: Optional[int]) -> List[range]:
    size = batch_size or max(1, min(MAX_BATCH, math.ceil(n / (4 * max(1, workers)))))
    return [range(start, min(n, start + size)) for start in range(0, n, size)]


def on_dask(client: Any, specs: Sequence[ReadSpec], questions: Sequence[str], contexts: Sequence[str],
            top_k: int = 1, *, batch_size: Optional[int] = None, progress: bool = True,
            desc: str = "dask") -> List[DaskRun]:
    """Ask every question of every model on the client's workers: one DaskRun per spec, in question order."""
    distributed = require_dask()
    check_client(client)
    if batch_size is not None:
        batch_size = whole_number(batch_size, "batch_size")
    from tqdm.auto import tqdm

    workers = len(client.scheduler_info().get("workers", {}))
    if not workers:
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
        except (TimeoutError, OSError):
            raise InputError(f"The Dask cluster has no workers after {WAIT_FOR_WORKERS:.0f} s: start some "
                             "(dask worker SCHEDULER_ADDRESS) or give a LocalCluster.") from None
        workers = len(client.scheduler_info().get("workers", {})) or 1
    chunks = _batches(len(questions), workers, batch_size)
    runs = [DaskRun([Outcome() for _ in questions]) for _ in specs]
    owner: Dict[Any, Tuple[int, range]] = {}
    run_id = os.urandom(6).hex()
    by_spec: Dict[int, List[Any]] = {s: [] for s in range(len(specs))}
    for s, spec in enumerate(specs):
        for chunk in chunks:
            items = [(i, questions[i], contexts[i]) for i in chunk]
            future = client.submit(_answer_batch, spec, items, top_k, run_id, pure=False,
                                   key=f"qa-kit-{desc}-{s}-{chunk.start}-{run_id}")
            owner[future] = (s, chunk)
            by_spec[s].append(future)
    bar = tqdm(total=len(specs) * len(questions), desc=desc, unit=" question", disable=not progress)
    try:
        for future in distributed.as_completed(list(owner)):
            s, chunk = owner[future]
            run = runs[s]
            if run.load_error is None:
                _collect(future, run, chunk, client, by_spec[s], contexts)
            bar.update(len(chunk))
    finally:
        bar.close()
        client.cancel([f for f in owner if not f.done()])
    for run in runs:
        if run.load_error is not None:
            run.outcomes = [Outcome(None, run.load_error, "", float("nan")) for _ in questions]
    return runs


def _collect(future: Any, run: DaskRun, chunk: range, client: Any, siblings: List[Any],
             contexts: Sequence[str]) -> None:
    """Put one finished batch's answers in their rows; a load failure stops its model's other batches."""
    if future.status != "finished":  # its workers died too often (KilledWorker), or it was cancelled
        why = "cancelled" if future.cancelled() else error_text(future.exception())
        for i in chunk:
            run.outcomes[i] = Outcome(None, f"not answered: the batch was lost on the cluster ({why})", "", float("nan"))
        return
    done = future.result()
    if done["load_error"] is not None:
        run.load_error = f"could not load on worker {done['worker']}: {done['load_error']}"
        client.cancel([f for f in siblings if not f.done()])
        return
    if done["load_seconds"]:
        run.load_seconds[done["worker"]] = run.load_seconds.get(done["worker"], 0.0) + done["load_seconds"]
    for index, answers, error, seconds in done["rows"]:
        if answers is not None and getattr(answers, "context", None) == "":
            answers.context = contexts[index]  # sent back without it
        run.outcomes[index] = Outcome(answers, error, done["worker"], seconds)


def connect(address: str) -> Tuple[Any, Callable[[], None]]:
    """A Client for `--dask ADDRESS|local[:N]` and the function that closes what was started.

    "local" starts a LocalCluster of one single-threaded worker process per core, "local:N" of N;
    anything else is a scheduler address such as tcp://scheduler:8786.
    """
    distributed = require_dask()
    address = address.strip()
    if address == "local" or address.startswith("local:"):
        from .cores import available_cores

        count = address.partition(":")[2]
        if count and not (count.isdigit() and int(count) > 0):
            raise InputError(f"--dask {address!r}: give local, local:N with N a whole number of workers, or an address.")
        cluster = distributed.LocalCluster(n_workers=int(count) if count else available_cores(), threads_per_worker=1,
                                           processes=True, dashboard_address=":0", silence_logs=40)
        client = distributed.Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    try:
        client = distributed.Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(f"No Dask scheduler answered at {address} ({one_line(error, 120)}): start one "
                         "(dask scheduler) or give local:N.") from None
    return client, client.close


def worker_spread(frame: pd.DataFrame, wall_seconds: Optional[float]) -> pd.DataFrame:
    """Per worker: questions answered, seconds busy, share of the questions, questions per busy second."""
    if "worker" not in frame or not len(frame):
        return pd.DataFrame(columns=["worker", "questions", "busy_seconds", "share", "questions_per_second"])
    per = frame.groupby("worker", sort=True).agg(questions=("seconds", "size"), busy_seconds=("seconds", "sum"))
    per["share"] = per["questions"] / per["questions"].sum()
    per["questions_per_second"] = per["questions"] / per["busy_seconds"]
    return per.reset_index()
