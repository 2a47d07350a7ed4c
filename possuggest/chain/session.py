"""Starting Apache Spark for the chain miner, and watching its jobs for cancel and progress.

``pyspark`` is an optional dependency (``pip install 'possuggest[spark]'``) and needs Java 17
or newer; both are checked first and named in one line when missing. The session is lean by
default (no web UI, no console progress bar, few shuffle partitions: the chain miner's
tables are per item pair, not per line), and every setting can be overridden (``--conf``).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from possuggest.core.errors import Cancelled, PossuggestError
from possuggest.core.progress import CancelledFn, ProgressFn

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[*]"

#: Spark settings the chain miner starts with (``conf`` given to :func:`spark_session` wins).
LEAN_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.default.parallelism": "8",
    "spark.sql.session.timeZone": "UTC",        # basket times are wall-clock seconds
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.extraJavaOptions": "-XX:+UseParallelGC",
    "spark.executor.extraJavaOptions": "-XX:+UseParallelGC",
}


class SparkUnavailable(PossuggestError):
    """pyspark or Java is missing, or Spark did not start."""


def require_pyspark() -> None:
    """Raise SparkUnavailable naming what to install when pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable("possuggest chain needs Apache Spark: pip install "
                               "'possuggest[spark]' (and Java 17 or newer)") from None
    java = (os.path.join(os.environ["JAVA_HOME"], "bin", "java")
            if os.environ.get("JAVA_HOME") else shutil.which("java"))
    if not java or not os.path.exists(java):
        raise SparkUnavailable("Spark needs Java 17 or newer and none was found: install a "
                               "JDK (e.g. apt install openjdk-17-jre-headless) or set JAVA_HOME")
    major = java_major(java)
    if major is not None and major < 17:
        raise SparkUnavailable(f"Spark needs Java 17 or newer; {java} is Java {major}: set "
                               "JAVA_HOME to a newer one")


def java_major(java: str) -> int | None:
    """The major version of a ``java`` binary (None when it cannot be told)."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    import re

    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def active_session() -> Any:
    """The running SparkSession (spark-submit's, a notebook's), or None."""
    require_pyspark()
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None,
                  app_name: str = "possuggest chain") -> Any:
    """A new SparkSession on ``master`` (default ``local[*]``; ``spark://host:7077``,
    ``yarn``, ``k8s://…`` as Spark knows them); under ``spark-submit`` (no ``master``
    given) its master and settings apply."""
    require_pyspark()
    from pyspark.sql import SparkSession

    settings = {**LEAN_CONF, **(conf or {})}
    builder = SparkSession.builder.appName(app_name)
    # under spark-submit the JVM is there already, with the master it was given
    submitted = bool(os.environ.get("PYSPARK_GATEWAY_PORT"))
    if master or not submitted:
        builder = builder.master(master or DEFAULT_MASTER)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:    # Py4J / Java start-up errors: one line
        text = " ".join(str(exc).split())[:300]
        raise SparkUnavailable(f"Spark did not start on {master or DEFAULT_MASTER}: {text}") \
            from None
    spark.sparkContext.setLogLevel("ERROR")
    log.info("Spark %s on %s", spark.version, spark.sparkContext.master)
    return spark


def stop_spark(spark: Any) -> None:
    """Stop a session this process started, and the JVM behind it (pyspark keeps its gateway
    JVM until the process exits otherwise; a new session starts a new one)."""
    from pyspark import SparkContext

    spark.stop()
    gateway = SparkContext._gateway
    if gateway is None or os.environ.get("PYSPARK_GATEWAY_PORT"):   # spark-submit's JVM
        return
    try:
        gateway.shutdown()
        proc = getattr(gateway, "proc", None)
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()          # the gateway JVM exits when its stdin closes
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        SparkContext._gateway = None
        SparkContext._jvm = None


class JobWatch:
    """While a chain run is going: calls ``cancelled()`` every ``every`` seconds and, once it
    says stop, cancels every Spark job (the running action then fails and :meth:`check`
    raises Cancelled); reports the running stage's task progress into the current step."""

    def __init__(self, spark: Any, progress: ProgressFn | None, cancelled: CancelledFn | None,
                 every: float = 0.25) -> None:
        self.spark = spark
        self.progress = progress
        self.cancelled = cancelled
        self.every = every
        self.stopped = False
        self._span = (0.0, 0.0, "")
        self._shown = 0.0          # progress only moves forward
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self, lo: float, hi: float, message: str) -> None:
        """A new step on ``lo..hi`` of the progress; checks for cancel first."""
        self.check()
        self._span = (lo, hi, message)
        self.report(lo, message)

    def report(self, fraction: float, message: str) -> None:
        """Progress, never backwards (the poller and the steps both report)."""
        if self.progress is not None and fraction >= self._shown:
            self._shown = fraction
            self.progress(fraction, message)

    def check(self) -> None:
        if self.stopped or (self.cancelled is not None and self.cancelled()):
            self.stopped = True
            raise Cancelled("chain mining cancelled")

    def _poll(self) -> None:
        tracker = self.spark.sparkContext.statusTracker()
        while not self._stop.wait(self.every):
            if self.cancelled is not None and not self.stopped and self.cancelled():
                self.stopped = True
                self.spark.sparkContext.cancelAllJobs()
                continue
            lo, hi, message = self._span
            if self.progress is None or hi <= lo:
                continue
            try:
                done = total = 0
                for sid in tracker.getActiveStageIds():
                    info = tracker.getStageInfo(sid)
                    if info is not None:
                        done += info.numCompletedTasks
                        total += info.numTasks
            except Exception:      # the JVM going away at the end of a run
                continue
            if total:
                self.report(lo + (hi - lo) * 0.95 * done / total, message)

    def __enter__(self) -> JobWatch:
        self._thread = threading.Thread(target=self._poll, name="chain-job-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextmanager
    def spark_errors(self, what: str) -> Iterator[None]:
        """Spark/Py4J failures inside become one-line errors (Cancelled after a cancel)."""
        try:
            yield
        except PossuggestError:
            raise
        except Exception as exc:
            if self.stopped or (self.cancelled is not None and self.cancelled()):
                self.stopped = True
                raise Cancelled("chain mining cancelled") from None
            text = " ".join(str(exc).split())
            # Py4J errors carry the whole Java stack: the first line says what went wrong
            raise PossuggestError(f"Spark failed while {what}: {text[:400]}") from exc
