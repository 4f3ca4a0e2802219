"""Ray for the jobs that scale out (extraction, scoring): local `ray.init()`, or an existing cluster."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nanoemox.errors import NanoEmoXError

if TYPE_CHECKING:
    import ray.data

RAY_LOG = "ray.log"
# ray.init() drops the handlers of "ray" itself but not those of its children, so both are routed.
RAY_LOGGERS = ("ray", "ray._private", "ray.data")
ROUTED = "nanoemox-routed"


def start_ray(address: str | None = None, num_cpus: int | None = None, log_dir: str | Path | None = None) -> None:
    """Connect to (or start) Ray; its own log lines go to `log_dir/ray.log`, only its errors to the terminal."""
    import ray
    import ray.data  # configures the ray.data loggers, which route_ray_logs then replaces

    path = Path(log_dir) / RAY_LOG if log_dir is not None else None
    route_ray_logs(path)
    if not ray.is_initialized():
        try:
            ray.init(
                address=address,
                num_cpus=num_cpus if address is None else None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        except ConnectionError as err:
            raise NanoEmoXError(
                f"--address {address}: {err}; a cluster started with token authentication also needs "
                "RAY_AUTH_MODE=token and its token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token)"
            ) from err
        route_ray_logs(path)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # our own progress bars and summaries say what matters
    context.execution_options.preserve_order = True  # same input, same output order


def route_ray_logs(path: Path | None) -> None:
    """Ray's warnings and info (deprecations, memory monitor, execution plans) to `path`; its errors to stderr."""
    terminal = logging.StreamHandler()
    terminal.setLevel(logging.ERROR)
    handlers = [terminal]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path))
        handlers[-1].setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for handler in handlers:
        handler.name = ROUTED
    for name in RAY_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            if old.name == ROUTED or (
                isinstance(old, logging.StreamHandler) and not isinstance(old, logging.FileHandler)
            ):
                logger.removeHandler(old)  # a previous job's, or Ray's own console handler
                old.close()
        for handler in handlers:
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def map_on_actors(dataset: ray.data.Dataset, stage: type, **options: Any) -> ray.data.Dataset:
    """`dataset.map_batches(stage, **options)` on an actor pool whose actors are not restarted. Ray Data restarts a
    dead actor by default, and Ray then prints an error line on every job ("core_worker.cc: ... has constructor
    arguments in the object store and max_restarts > 0", ray#57733) for a restart that may fail anyway (ray#53727).
    A job whose actor dies stops instead; running it again resumes. Ray 2.60 takes `max_restarts` only through
    its deprecated `**ray_remote_args`, hence the silenced warning; revisit when upgrading Ray."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return dataset.map_batches(stage, **options, max_restarts=0)


def require_gpus(needed: float, flag: str) -> None:
    """Refuse to start a job whose actors ask for more GPUs than Ray sees (Ray would wait for them forever)."""
    import ray

    have = ray.cluster_resources().get("GPU", 0.0)
    if needed > have:
        raise NanoEmoXError(f"{flag}: needs {needed:g} GPU(s) but Ray sees {have:g}; use --num-gpus 0 to run on CPU")
