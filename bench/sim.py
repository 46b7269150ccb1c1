"""Simulator benchmark: every shipped scenario against the real nodes, aggregated.

Targets (issue 7): routing accuracy ≥ 95 % and intent accuracy ≥ 90 % over the shipped
scenarios; the morning rush ≥ 3× faster than real time on the in-process transport; a queue
count error is reported (issue 6: MAE ≤ 0.5 people on rendered frames).

    python bench/sim.py [--only morning_rush,priority]      (last line: JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sim.runner import LobbySim  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    args = parser.parse_args()
    paths = sorted((REPO / "sim" / "scenarios").glob("*.yaml"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only.split(",")]
    routed = routed_ok = intents = intents_ok = 0
    errors: list[float] = []
    occupied: list[float] = []
    per_scenario = {}
    for path in paths:
        sim = LobbySim(load_scenario(path))
        try:
            result = sim.run()
            errors += sim.queue_errors
            occupied += sim.occupied_errors
        finally:
            sim.close()
        for c in result.customers:
            if c["routing_correct"] is not None:
                routed += 1
                routed_ok += c["routing_correct"]
            if c["intent_correct"] is not None:
                intents += 1
                intents_ok += c["intent_correct"]
        t = result.totals
        per_scenario[path.stem] = {k: t[k] for k in ("customers", "greeted", "routing_accuracy",
                                                     "intent_accuracy", "queue_count_mae",
                                                     "speed_x", "sim_s", "wall_s")}
        print(f"{path.stem:15} routing {t['routing_accuracy']}  intent {t['intent_accuracy']}"
              f"  greeted {t['greeted']}/{t['customers']}  queue MAE {t['queue_count_mae']}"
              f"  {t['speed_x']}× real time")
    routing = round(routed_ok / routed, 3) if routed else None
    intent = round(intents_ok / intents, 3) if intents else None
    mae = round(sum(errors) / len(errors), 3) if errors else None
    mae_occupied = round(sum(occupied) / len(occupied), 3) if occupied else None
    rush = per_scenario.get("morning_rush", {})
    print(f"overall routing {routing} ({routed_ok}/{routed}), intent {intent} "
          f"({intents_ok}/{intents}), queue count MAE {mae} (zones with people: {mae_occupied})")
    print(json.dumps({"bench": "sim", "routing_accuracy": routing, "intent_accuracy": intent,
                      "queue_count_mae": mae, "queue_count_mae_occupied": mae_occupied,
                      "morning_rush_speed_x": rush.get("speed_x"),
                      "targets_met": bool(routing and routing >= 0.95 and intent
                                          and intent >= 0.9 and (rush.get("speed_x") or 0) >= 3),
                      "scenarios": per_scenario}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
