"""``lobbybot sim run SCENARIO --report DIR``: a simulated lobby against the real nodes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sim", help="simulated lobby: run scenarios against the real nodes")
    ssub = p.add_subparsers(dest="sim_command", required=True, metavar="COMMAND")
    run = ssub.add_parser("run", help="run one scenario and write report.json/report.html",
                          description="Exit 0 when every expectation holds, 1 when one fails, "
                                      "2 when the scenario or world cannot run.")
    run.add_argument("scenario", help="scenario YAML (sim/scenarios/*.yaml)")
    run.add_argument("--report", default="sim-report", help="directory for the reports")
    run.add_argument("--transport", choices=("inproc", "ros"), default="inproc",
                     help="inproc: every node in this process on simulated time, as fast as "
                          "they keep up; ros: the launched node graph (processes, ROS 2, "
                          "/clock) at real time")
    run.add_argument("--speed", type=float, default=1.0,
                     help="ros only: simulated seconds per wall second (default 1.0)")
    run.add_argument("--speech", choices=("text", "audio"), default=None,
                     help="override the scenario: typed transcripts, or voices heard by the "
                          "real listen node")
    run.add_argument("--max-s", type=float, default=0.0,
                     help="stop after this many simulated seconds (0: when everyone left)")
    check = ssub.add_parser("check", help="load scenarios and worlds without running them")
    check.add_argument("scenario", nargs="+")


def run(args: argparse.Namespace) -> int:
    from routing.config import BranchConfigError

    from .scenario import ScenarioError, load_scenario
    from .world import WorldError

    if args.sim_command == "check":
        try:
            for path in args.scenario:
                scenario = load_scenario(path)
                print(json.dumps({"scenario": scenario.name, "customers":
                                  len(scenario.customers), "ok": True}))
        except (ScenarioError, BranchConfigError) as exc:
            print(f"lobbybot sim: {exc}", file=sys.stderr)
            return 2
        return 0
    from .report import failures, summary_table, write_report
    from .runner import LobbySim

    try:
        scenario = load_scenario(args.scenario)
        if not 0.1 <= args.speed <= 10:
            raise ScenarioError(f"--speed {args.speed} out of range 0.1..10")
        sim = LobbySim(scenario, transport=args.transport, realtime_factor=args.speed,
                       speech=args.speech)
    except (ScenarioError, BranchConfigError, WorldError, RuntimeError, ValueError) as exc:
        print(f"lobbybot sim: {exc}", file=sys.stderr)
        return 2
    try:
        result = sim.run(args.max_s or None)
    except RuntimeError as exc:  # the launched graph died: nothing meaningful to report
        print(f"lobbybot sim: {exc}", file=sys.stderr)
        return 2
    finally:
        sim.close()
    json_path, html_path = write_report(result, Path(args.report))
    print(summary_table(result))
    problems = failures(result)
    for line in problems:
        print(f"FAILED {line}")
    print(f"report: {html_path}")
    print(json.dumps({"scenario": result.scenario, "ok": not problems, **result.totals,
                      "report": str(json_path)}, ensure_ascii=False))
    return 1 if problems else 0
