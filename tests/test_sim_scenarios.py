"""The regression suite: every shipped scenario against the real nodes (slow: ~6 minutes).

Run with `make test-slow` (CI runs it). Each scenario must run to the end with every
customer greeted or deliberately not talking to the robot; over all typed-transcript
scenarios, routing accuracy ≥ 95 % and intent accuracy ≥ 90 % (issue 7). Scenarios with
``speech: audio`` go through the real VAD + ASR: they report WER and are held to the
floors in ``test_spoken_scenario_floor`` (regression guards, not the targets).
"""

from __future__ import annotations

import pytest
from conftest import REPO

from sim.runner import LobbySim
from sim.scenario import load_scenario

SCENARIOS = sorted((REPO / "sim" / "scenarios").glob("*.yaml"))
TALLY = {"routed": 0, "routed_ok": 0, "intents": 0, "intents_ok": 0, "runs": 0}
SPOKEN: dict[str, dict] = {}


@pytest.mark.slow
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path):
    scenario = load_scenario(path)
    sim = LobbySim(scenario)
    try:
        result = sim.run()
    finally:
        sim.close()
    talkers = [c for c in scenario.customers
               if c.behaviour != "ignores_robot" and c.priority == "normal"]
    assert all(c["outcome"] for c in result.customers), "every customer's visit ended"
    assert result.totals["speed_x"] >= 1.0
    if scenario.speech == "audio":
        # The recogniser's misses vary from run to run: floors in the test below; the
        # accuracy over every scenario, spoken one included, is bench/sim.py's figure.
        SPOKEN[path.stem] = {**result.totals, "talkers": len(talkers)}
        return
    assert result.totals["greeted"] == len(talkers), "every customer at the robot is greeted"
    for c in result.customers:
        if c["routing_correct"] is not None:
            TALLY["routed"] += 1
            TALLY["routed_ok"] += c["routing_correct"]
        if c["intent_correct"] is not None:
            TALLY["intents"] += 1
            TALLY["intents_ok"] += c["intent_correct"]
    TALLY["runs"] += 1


@pytest.mark.slow
def test_accuracy_over_all_scenarios():
    typed = [p for p in SCENARIOS if load_scenario(p).speech == "text"]
    if TALLY["runs"] < len(typed):
        pytest.skip("needs every scenario run first (run the whole module)")
    assert TALLY["routed_ok"] / TALLY["routed"] >= 0.95, TALLY
    assert TALLY["intents_ok"] / TALLY["intents"] >= 0.90, TALLY


@pytest.mark.slow
def test_spoken_scenario_floor():
    """voices.yaml: English customers (piper and espeak-ng voices, part in lobby babble)
    heard by whisper tiny.en; the one Mandarin customer (espeak-ng) is not expected to be
    understood (docs/speech.md), and babble at the start of the noise is sometimes taken for
    the customer, or a short answer is lost in it. Measured 2026-12-02 over four runs: WER
    0.22-0.41, routing 0.5-0.83, intent 0.29-0.57, greeted 8/8 (faces re-identified by
    appearance; 5-7/8 before)."""
    if "voices" not in SPOKEN:
        pytest.skip("needs the voices scenario run first (run the whole module)")
    totals = SPOKEN["voices"]
    assert totals["wer"] is not None and totals["wer"] <= 0.45, totals
    assert totals["routing_accuracy"] >= 0.5, totals
    assert totals["intent_accuracy"] >= 0.25, totals
    assert totals["greeted"] >= totals["talkers"] - 1, totals


@pytest.mark.slow
def test_smoke_scenario_over_ros_2_processes_on_sim_clock(ros_domain, tmp_path):
    """The launched node graph (routing, dialog, faces, queues as rclpy processes with
    use_sim_time) against the simulator publishing /clock and camera frames over ROS 2."""
    from conftest import last_json, run_cli

    result = run_cli("sim", "run", str(REPO / "sim" / "scenarios" / "smoke.yaml"),
                     "--transport", "ros", "--speed", "2", "--report", str(tmp_path),
                     env={"ROS_DOMAIN_ID": ros_domain}, timeout_s=600)
    summary = last_json(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:]
    assert summary["greeted"] == 3 and summary["routing_accuracy"] == 1.0


@pytest.mark.slow
def test_spoken_scenario_over_ros_2_processes(ros_domain, tmp_path):
    """voices.yaml over ROS 2: the simulator streams /audio/in to the launched listen node
    (its own process: VAD + whisper at real time), the speak node voices the replies. Floors
    as in-process (one run measured 2026-12-02: greeted 8/8, WER 0.29, routing 0.5)."""
    from conftest import last_json, run_cli

    result = run_cli("sim", "run", str(REPO / "sim" / "scenarios" / "voices.yaml"),
                     "--transport", "ros", "--report", str(tmp_path),
                     env={"ROS_DOMAIN_ID": ros_domain}, timeout_s=900)
    summary = last_json(result.stdout)
    assert result.returncode in (0, 1), result.stdout[-3000:]  # 1: an expectation unmet
    assert summary["greeted"] >= summary["customers"] - 1, summary
    assert summary["wer"] is not None and summary["wer"] <= 0.45, summary
    assert summary["routing_accuracy"] >= 0.4, summary
