"""Ray for the jobs that scale out (extraction, scoring): local `ray.init()`, or an existing cluster."""

from __future__ import annotations

import logging
from pathlib import Path

RAY_LOG = "ray.log"
RAY_LOGGERS = ("ray", "ray.data")


def start_ray(address: str | None = None, num_cpus: int | None = None, log_dir: str | Path | None = None) -> None:
    """Connect to (or start) Ray; its own log lines go to `log_dir/ray.log`, only its errors to the terminal."""
    import ray
    import ray.data  # configures the ray.data loggers, which route_ray_logs then redirects

    route_ray_logs(Path(log_dir) / RAY_LOG if log_dir is not None else None)
    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=num_cpus if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # our own progress bars and summaries say what matters
    context.execution_options.preserve_order = True  # same input, same output order


def route_ray_logs(path: Path | None) -> None:
    """Ray's warnings and info (deprecations, memory monitor, execution plans) to `path`; errors still show."""
    file_handler = None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path)
        file_handler.name = RAY_LOG
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in RAY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if handler.name == RAY_LOG:  # a previous job's file
                logger.removeHandler(handler)
                handler.close()
            elif isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.setLevel(logging.ERROR)
        logger.propagate = False
        logger.setLevel(logging.INFO)
        if file_handler is not None:
            logger.addHandler(file_handler)
