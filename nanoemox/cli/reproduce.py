"""`nanoemox reproduce plan|run|status`: an experiment (the paper's by default) as one resumable plan of steps."""

from __future__ import annotations

import argparse
import json

from nanoemox.cli.common import add_config_args, add_threads_arg, cli_overrides


def add_parser(commands: argparse._SubParsersAction) -> None:
    reproduce = commands.add_parser(
        "reproduce",
        help="the paper's experiment (or a recipe's) from raw datasets to Tables 2-5, as one resumable plan",
        description="Every step (check, extract, train, score, eval, report) of a recipe, each done once for the "
        "same inputs and config. Dataset roots come from the config's datasets: (--set datasets.meld=/data/MELD).",
    )
    actions = reproduce.add_subparsers(dest="action", required=True)
    for name, text in (
        ("plan", "every step with its state, size and the console command it equals; runs nothing"),
        ("run", "run the steps that are not done, in order; a killed run resumes; a failed step stops only its own"),
        ("status", "the steps of a run in progress (or ended), from its saved recipe and config"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("--out", required=True, help="the experiment's folder (shards/, heads/, report/ in it)")
        action.add_argument("--json", action="store_true", help="print the table as JSON")
        if name == "status":
            continue
        action.add_argument("--recipe", help="paper (default), demo, or a recipe YAML (default: the one --out has)")
        action.add_argument("--only", action="append", default=[], help="steps of a kind or dataset: train, meld")
        action.add_argument("--steps", action="append", default=[], help="steps whose id matches: 'eval/*'")
        add_config_args(action)
        if name == "run":
            action.add_argument("--address", help="a Ray cluster (HEAD:6379) for extraction and scoring")
            action.add_argument("--num-gpus", type=int, default=0, help="GPUs for extraction and scoring actors")
            action.add_argument("--device", help="training and in-process scoring device (default: cuda if any)")
            action.add_argument(
                "--nproc-per-node", type=int, default=1, help="training processes on this node (torchrun, DDP)"
            )
            action.add_argument("--fresh", action="store_true", help="delete the experiment's outputs and start over")
            add_threads_arg(action)


def command(args: argparse.Namespace) -> int:
    from nanoemox.reproduce.plan import build_plan, open_experiment, saved_experiment
    from nanoemox.reproduce.runner import outcomes_table, plan_states, run_experiment, selector, states_table

    if args.action == "status":
        experiment = saved_experiment(args.out)
    else:
        overrides = cli_overrides(args)
        if args.action == "run" and args.address:
            overrides.append(f"extract.address={args.address}")
        if args.action == "run" and args.num_gpus:
            overrides.append(f"extract.num_gpus={args.num_gpus}")
        experiment = open_experiment(args.out, args.recipe, args.config, args.preset, overrides)
    if args.action == "run":
        from nanoemox.reproduce.execute import Where

        where = Where(args.address, args.num_gpus, args.device, args.nproc_per_node)
        outcomes = run_experiment(experiment, selector(args.only, args.steps), where, args.fresh)
        if args.json:
            print(json.dumps([{"step": o.step.id, "result": o.result, "detail": o.detail} for o in outcomes]))
        else:
            print("\n" + outcomes_table(outcomes))
        return 1 if any(o.result == "failed" for o in outcomes) else 0
    steps = build_plan(experiment)
    if args.action == "plan":
        chosen = selector(args.only, args.steps)
        steps = [step for step in steps if chosen(step)]
    states = plan_states(experiment, steps)
    if args.json:
        rows = [
            {
                "step": s.id,
                "state": st.name,
                "detail": st.detail,
                "size": s.size,
                "needs": s.needs,
                "command": s.command,
            }
            for s, st in states
        ]
        print(json.dumps(rows, indent=1))
    else:
        print(f"{experiment.recipe.name} recipe ({experiment.recipe.source}), preset {experiment.cfg.preset}")
        print(states_table(states, commands=args.action == "plan"))
    return 0
