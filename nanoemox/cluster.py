"""Ray for the jobs that scale out (extraction, scoring): local `ray.init()`, or an existing cluster."""

from __future__ import annotations

import logging


def start_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    import ray

    if not ray.is_initialized():
        ray.init(
            address=address,
            num_cpus=num_cpus if address is None else None,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    for name in ("ray", "ray.data"):  # our own progress bars and summaries say what matters
        logging.getLogger(name).setLevel(logging.ERROR)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True  # same input, same output order
