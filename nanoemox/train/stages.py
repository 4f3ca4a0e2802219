"""The curriculum strategies as ordered stages: which phase trains, on which mix, from which heads.

One vocabulary names a stage three ways, all defined here: its folder (`phase1-speech`), its config key
(`train.phases.1-speech`) and its command line (`nanoemox-train --phase 1 --branch speech`)."""

from __future__ import annotations

from dataclasses import dataclass

from nanoemox.config import PipelineConfig
from nanoemox.errors import NanoEmoXError

STRATEGIES = ("p2e", "joint", "reverse")
STAGE_PHASES = {  # stage folder -> its phase (the config's train.phases key; joint trains on phase 3's mix)
    "phase1-speech": "1-speech",
    "phase1-visual": "1-visual",
    "phase2": "2",
    "phase3": "3",
    "joint": "joint",
}
P2E = [(name, phase) for name, phase in STAGE_PHASES.items() if name != "joint"]


@dataclass(frozen=True)
class Stage:
    name: str  # output folder under heads/<run>/
    phase: str  # the trainable set (model.phases) and, except for joint, the data mix in train.phases
    data: str  # which train.phases entry gives the mix, learning rates and steps
    steps: int
    init_from: str | None  # the stage whose final heads this one starts from

    @property
    def command_line(self) -> tuple[str | None, str | None]:
        """(--phase, --branch) of `nanoemox-train` that train this stage alone; (None, None) for joint."""
        if self.phase == "joint":
            return None, None
        number, _, branch = self.phase.partition("-")
        return number, branch or None


def plan_stages(cfg: PipelineConfig, strategy: str, phase: str | None = None, branch: str | None = None) -> list[Stage]:
    """Stages to run: the whole strategy, or one phase of it (`--phase 1 --branch speech`)."""
    phases = cfg.train.phases
    if branch is not None and phase != "1":
        raise NanoEmoXError("--branch only applies to --phase 1")
    if strategy == "joint":  # no curriculum: the phase-3 mix, everything trainable, the whole budget at once
        return [Stage("joint", "joint", "3", sum(p.steps for p in phases.values()), None)]
    if strategy not in STRATEGIES:
        raise NanoEmoXError(f"unknown strategy '{strategy}'; choose from {', '.join(STRATEGIES)}")
    order = P2E if strategy == "p2e" else P2E[2:][::-1] + P2E[:2]  # reverse: 3, 2, then 1
    stages, previous = [], None
    for name, key in order:
        stages.append(Stage(name, key, key, phases[key].steps, previous))
        previous = name
    if phase is None:
        return stages
    wanted = {"1": ["1-speech", "1-visual"], "2": ["2"], "3": ["3"]}.get(phase)
    if wanted is None:
        raise NanoEmoXError(f"unknown phase '{phase}'; choose 1, 2 or 3 (or leave it out to run every phase)")
    if branch is not None:
        wanted = [f"1-{branch}"]
    return [s for s in stages if s.phase in wanted]
