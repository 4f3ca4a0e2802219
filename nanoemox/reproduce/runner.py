"""Running a plan on explicit completion markers: each step writes `reproduce/steps/<step>.json` (its fingerprint
and status) when it starts, ends or fails. A step is done when its marker says done for the same fingerprint and
its output is there; a failed or blocked step stops only the steps that need it."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from nanoemox.config import config_yaml
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio.locks import lock_holder, locked
from nanoemox.reproduce.execute import Where, execute, extract_splits, output_complete
from nanoemox.reproduce.plan import Experiment, Step, build_plan

FINISHED = ("ran", "done already")


@dataclass
class State:
    name: str  # done | to do | stale | blocked | failed | running | interrupted
    detail: str = ""


@dataclass
class Outcome:
    step: Step
    result: str  # ran | done already | failed | blocked | skipped | not selected
    detail: str = ""
    seconds: float = 0.0


def read_marker(x: Experiment, step: Step) -> dict[str, Any] | None:
    path = x.marker(step.id)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, OSError):  # a torn marker says nothing: the step runs again (and resumes)
        return None


def write_marker(x: Experiment, step: Step, status: str, **fields: Any) -> None:
    path = x.marker(step.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    marker = {"step": step.id, "fingerprint": step.fingerprint, "status": status, "time": time.time(), **fields}
    part = path.with_suffix(".part")
    part.write_text(json.dumps(marker, indent=1))
    os.replace(part, path)


def step_state(x: Experiment, step: Step, running: bool = False) -> State:
    """Where a step stands: blocked (why), to do, stale (made for other inputs or config), done, failed (why),
    running (a run holds the folder's lock) or interrupted (a killed run started it: the next run resumes it)."""
    if step.blocked:
        return State("blocked", step.blocked)
    marker = read_marker(x, step)
    if marker is None:
        return State("to do")
    if marker.get("fingerprint") != step.fingerprint:
        return State("stale", "done for other inputs or config" if marker.get("status") == "done" else "")
    status = marker.get("status")
    if status == "done":
        if output_complete(x, step):
            return State("done", marker.get("summary", ""))
        return State("to do", "its output was removed")
    if status == "failed":
        return State("failed", marker.get("error", ""))
    return State("running" if running else "interrupted")


def plan_states(x: Experiment, steps: list[Step]) -> list[tuple[Step, State]]:
    running = lock_holder(x.state_dir) is not None
    return [(step, step_state(x, step, running)) for step in steps]


def selector(only: list[str], patterns: list[str]) -> Callable[[Step], bool]:
    """--only KIND or DATASET (check, extract, train, score, eval, report, meld, ...), --steps GLOB on step ids."""
    if not only and not patterns:
        return lambda step: True

    def selected(step: Step) -> bool:
        parts = set(step.id.split("/"))
        return bool(parts & set(only)) or any(fnmatch.fnmatchcase(step.id, p) for p in patterns)

    return selected


def run_experiment(x: Experiment, selected: Callable[[Step], bool], where: Where, fresh: bool = False) -> list[Outcome]:
    """Run every selected step that is not done, in order, holding the experiment's lock; `fresh` deletes what
    earlier runs wrote first."""
    outcomes: dict[str, Outcome] = {}
    with locked(x.state_dir, "nanoemox reproduce run"):
        if fresh:
            for folder in (x.shards, x.run.path, x.report, x.state_dir):
                shutil.rmtree(folder, ignore_errors=True)
        steps = build_plan(x)
        x.state_dir.mkdir(parents=True, exist_ok=True)
        x.config.write_text(config_yaml(x.cfg))
        x.recipe_file.write_text(yaml.safe_dump(x.recipe.to_dict(), sort_keys=False))
        for step in steps:
            if step.id in outcomes:
                continue
            if step.kind == "extract":  # all of them at the first: they need only checks, all done by now
                triaged = [(s, triage(x, s, outcomes, selected(s))) for s in steps if s.kind == "extract"]
                ran = [t for _, t in triaged if isinstance(t, Outcome)]
                ready = [(s, t) for s, t in triaged if isinstance(t, State)]
                ran += run_extractions(x, ready, outcomes, where) if ready else []
            else:
                triaged_step = triage(x, step, outcomes, selected(step))
                ran = [
                    triaged_step
                    if isinstance(triaged_step, Outcome)
                    else run_step(x, step, triaged_step, outcomes, where)
                ]
            for outcome in ran:
                outcomes[outcome.step.id] = outcome
                print(f"[{len(outcomes)}/{len(steps)}] {outcome.step.id}: {outcome.result}", flush=True)
    return [outcomes[step.id] for step in steps]


def triage(x: Experiment, step: Step, outcomes: dict[str, Outcome], selected: bool) -> Outcome | State:
    """The outcome of a step that does not run now (done, not selected, blocked, or a need unmet), else the state
    it runs from."""
    state = step_state(x, step)
    if step.kind == "report" and state.name == "done" and any(outcomes[n].result == "ran" for n in step.needs):
        state = State("to do", "new results")
    if state.name == "done":
        return Outcome(step, "done already", state.detail)
    if not selected:
        return Outcome(step, "not selected", state.name)
    if state.name == "blocked":
        return Outcome(step, "blocked", state.detail)
    unmet = [n for n in step.needs if outcomes[n].result not in FINISHED]
    if step.kind == "report":  # the report runs with what was evaluated, and says why the rest is missing
        if len(unmet) == len(step.needs):
            return Outcome(step, "skipped", "no benchmark was evaluated")
    elif unmet:
        return Outcome(step, "skipped", f"needs {unmet[0]} ({outcomes[unmet[0]].result})")
    return state


def run_step(x: Experiment, step: Step, state: State, outcomes: dict[str, Outcome], where: Where) -> Outcome:
    unmet = [outcomes[n] for n in step.needs if outcomes[n].result not in FINISHED]
    missing = {o.step.args["dataset"] + "/" + o.step.args["split"]: why(o) for o in unmet}
    print(f"\n== {step.id}: {state.name}{' (' + state.detail + ')' if state.detail else ''}\n$ {step.command}")
    write_marker(x, step, "running")
    started = time.perf_counter()
    try:
        summary = execute(x, step, state.name == "stale", where, missing)
    except Exception as err:  # a failed step stops only the steps that need it
        return failed(x, step, err, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    write_marker(x, step, "done", summary=summary, seconds=round(seconds, 1))
    return Outcome(step, "ran", summary, seconds)


def run_extractions(x: Experiment, ready: list[tuple[Step, State]], outcomes: dict, where: Where) -> list[Outcome]:
    """Every extraction that is ready, as one Ray Data job (its actors and models start once); if that job
    fails, each split on its own, so a bad dataset fails only its own steps."""
    if len(ready) == 1:
        return [run_step(x, *ready[0], outcomes, where)]
    print("\n== " + ", ".join(step.id for step, _ in ready) + " (one extraction job)")
    for step, _ in ready:
        print(f"$ {step.command}")
        write_marker(x, step, "running")
    started = time.perf_counter()
    try:
        summaries = extract_splits(x, [(step, state.name == "stale") for step, state in ready])
    except Exception:
        return [run_step(x, step, state, outcomes, where) for step, state in ready]
    seconds = time.perf_counter() - started
    for step, _ in ready:
        write_marker(x, step, "done", summary=summaries[step.id], seconds=round(seconds, 1))
    return [Outcome(step, "ran", summaries[step.id], seconds) for step, _ in ready]


def failed(x: Experiment, step: Step, err: Exception, seconds: float) -> Outcome:
    error = str(err) if isinstance(err, NanoEmoXError | OSError) else f"{type(err).__name__}: {err}"
    write_marker(x, step, "failed", error=error, traceback=traceback.format_exc())
    return Outcome(step, "failed", error.splitlines()[0] if error else "", seconds)


def why(outcome: Outcome) -> str:
    """Why a benchmark has no result, for its empty cells in the report: what blocked it (the root cause, named),
    or that a step failed."""
    if outcome.result in ("blocked", "skipped") and outcome.detail:
        return outcome.detail
    return f"{outcome.step.id} {outcome.result}" + (f": {outcome.detail}" if outcome.detail else "")


def clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def states_table(states: list[tuple[Step, State]], commands: bool = True) -> str:
    """`reproduce plan` / `status`: each step's state and size, and the console command it equals."""
    lines = [f"{'step':<34} {'state':<12} {'size':<28} detail"]
    for step, state in states:
        lines.append(f"{step.id:<34} {state.name:<12} {clip(step.size, 28):<28} {clip(state.detail, 70)}")
        if commands:
            lines.append(f"    $ {step.command}")
    counts: dict[str, int] = {}
    for _, state in states:
        counts[state.name] = counts.get(state.name, 0) + 1
    lines.append(", ".join(f"{n} {name}" for name, n in counts.items()))
    return "\n".join(lines)


def outcomes_table(outcomes: list[Outcome]) -> str:
    """The closing table of `reproduce run`: what ran, what was done already, what failed or was skipped, and why."""
    lines = [f"{'step':<34} {'result':<14} {'time':>7}  detail"]
    for o in outcomes:
        took = f"{o.seconds:.0f} s" if o.result in ("ran", "failed") else ""
        lines.append(f"{o.step.id:<34} {o.result:<14} {took:>7}  {clip(o.detail, 90)}")
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.result] = counts.get(o.result, 0) + 1
    lines.append(", ".join(f"{n} {result}" for result, n in counts.items()))
    return "\n".join(lines)
