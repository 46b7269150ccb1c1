"""The simulated lobby: scenarios, the SDF world, a full run against the real nodes, reports."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from conftest import REPO, last_json, run_cli

from routing.config import load_branch_config
from sim.scenario import ScenarioError, load_scenario, parse_scenario

SCENARIOS = sorted((REPO / "sim" / "scenarios").glob("*.yaml"))
WORLDS = sorted((REPO / "sim" / "worlds").glob("*.sdf"))


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_load(path):
    scenario = load_scenario(path)
    assert scenario.customers and all(c.lang in ("zh", "en") for c in scenario.customers)


def test_shipped_scenarios_cover_the_required_situations():
    scenarios = {p.stem: load_scenario(p) for p in SCENARIOS}
    rush = scenarios["morning_rush"]
    assert len(rush.customers) >= 20 and {c.lang for c in rush.customers} == {"zh", "en"}
    assert any(c.priority != "normal" for c in scenarios["priority"].customers)
    assert any(f.kind == "camera_drop" for f in scenarios["camera_failure"].faults)
    assert any(c.behaviour == "interrupts" for c in scenarios["barge_in"].customers)
    assert any(c.expect.intent == "out_of_scope" for c in scenarios["out_of_scope"].customers)
    voices = scenarios["voices"]
    assert voices.speech == "audio" and any(f.kind == "noisy_audio" for f in voices.faults)


@pytest.mark.parametrize("text, problem", [
    ("name: x\ncustomers:\n  - {id: a, at: 1, lang: fr, says: [hi]}\n",
     r"x.yaml:3: customer a: lang must be one of zh, en"),
    ("name: x\ncustomers:\n  - {id: a, at: 1, lang: zh, says: [hi]}\n"
     "  - {id: a, at: 2, lang: zh, says: [hi]}\n", r"x.yaml:4: customer id 'a' used twice"),
    ("name: x\ncolour: red\ncustomers: []\n", r"x.yaml:2: scenario: unknown key\(s\) colour"),
    ("name: x\ncustomers:\n  - {id: a, at: -3, lang: zh, says: [hi]}\n",
     r"x.yaml:3: customer a: at must be a number"),
    ("name: x\ncustomers:\n  - {id: a, at: 1, lang: zh}\n", r"x.yaml:3: customer a: says nothing"),
    ("name: x\nworld: sim/worlds/nope.sdf\ncustomers:\n  - {id: a, at: 1, lang: zh, says: [h]}\n",
     r"x.yaml:2: world file .*nope.sdf not found"),
    ("name: x\ncustomers:\n  - {id: a, at: 1, lang: zh, says: [h]}\nfaults:\n"
     "  - {at: 3, kind: camera_drop}\n", r"x.yaml:5: fault camera_drop needs camera, duration"),
    ("name: [x\n", r"x.yaml: not valid YAML"),
    ("name: x\nspeech: voice\ncustomers:\n  - {id: a, at: 1, lang: zh, says: [h]}\n",
     r"x.yaml:2: speech must be one of text, audio"),
    ("name: x\ncustomers:\n  - {id: a, at: 1, lang: en, says: [h], voice: siri}\n",
     r"x.yaml:3: customer a: voice must be piper"),
])
def test_malformed_scenarios_name_file_and_line(text, problem):
    with pytest.raises(ScenarioError, match=problem):
        parse_scenario(text, "x.yaml")


def test_malformed_scenario_runs_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncustomers:\n  - {id: a, at: 1, lang: xx, says: [hi]}\n")
    result = run_cli("sim", "run", str(bad), "--report", str(tmp_path / "report"))
    assert result.returncode == 2 and "bad.yaml:3:" in result.stderr
    assert not (tmp_path / "report").exists(), "nothing half-run"


def test_world_that_lacks_a_counter_is_refused(tmp_path):
    from sim.world import World, WorldError

    world = (REPO / "sim" / "worlds" / "lobby.sdf").read_text()
    broken = tmp_path / "lobby.sdf"
    broken.write_text(world.replace('<model name="counter_c4">', '<model name="desk_c4">'))
    with pytest.raises(WorldError, match=r"lobby.sdf: no model for counter_c4"):
        World(broken, load_branch_config(REPO / "config" / "branch.yaml"), billboards=1)
    broken.write_text(world.replace("</world>", "</wrld>"))
    with pytest.raises(WorldError, match=r"lobby.sdf:\d+: not well-formed XML"):
        World(broken, load_branch_config(REPO / "config" / "branch.yaml"), billboards=1)


@pytest.mark.skipif(shutil.which("ign") is None, reason="ign sdf not installed (make setup)")
@pytest.mark.parametrize("world", WORLDS, ids=lambda p: p.name)
def test_worlds_pass_the_sdformat_validator(world):
    result = subprocess.run(["ign", "sdf", "-k", str(world)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid" in result.stdout


def test_branch_camera_calibration_matches_the_world():
    """The example branch's zones and homography describe the simulated lobby camera."""
    from sim.world import World

    config = load_branch_config(REPO / "config" / "branch.yaml")
    world = World(REPO / "sim" / "worlds" / "lobby.sdf", config, billboards=1)
    try:
        computed = world.image_to_floor_homography("lobby_camera")
        configured = np.array(config.lobby_camera.homography)
        for u, v in ((100, 250), (320, 290), (540, 260)):
            a = computed @ (u, v, 1)
            b = configured @ (u, v, 1)
            assert np.allclose(a[:2] / a[2], b[:2] / b[2], atol=0.05)
        for zone, polygon in config.lobby_camera.zones.items():
            x, y, _ = world.model_pose(f"zone_{zone}")
            xs, ys = zip(*polygon, strict=True)
            assert min(xs) < x < max(xs) and min(ys) < y < max(ys), zone
    finally:
        world.close()


def test_smoke_scenario_runs_the_real_nodes_and_writes_reports(tmp_path, browser_page):
    report = tmp_path / "report"
    result = run_cli("sim", "run", str(REPO / "sim" / "scenarios" / "smoke.yaml"),
                     "--report", str(report), timeout_s=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = last_json(result.stdout)
    assert summary["ok"] and summary["greeted"] == 3, summary
    assert summary["routing_accuracy"] == 1.0 and summary["intent_accuracy"] == 1.0
    assert summary["speed_x"] > 1.0
    data = json.loads((report / "report.json").read_text())
    lost_card = next(c for c in data["customers"] if c["id"] == "s2")
    assert lost_card["ticket"].startswith("B") and lost_card["outcome"] == "served"
    assert lost_card["replies"][:2] == ["greet", "confirm"], "greeted by sight, then confirmed"
    browser_page.goto((report / "report.html").as_uri())
    assert browser_page.locator("#customers tr").count() == 4
    assert "none" in browser_page.inner_text("#failures")
    (REPO / "test-artifacts" / "sim").mkdir(parents=True, exist_ok=True)
    browser_page.screenshot(path=str(REPO / "test-artifacts" / "sim" / "report.png"),
                            full_page=True)


def test_spoken_customer_is_heard_by_the_real_asr(tmp_path):
    """speech: audio — the customer's synthesised voice on /audio/in, the listen node's
    VAD + whisper, the dialog, routing: a ticket for what was said."""
    scenario = tmp_path / "spoken.yaml"
    scenario.write_text(
        "name: spoken\nseed: 3\nservice_time_scale: 0.1\nspeech: audio\ncustomers:\n"
        "  - {id: a1, at: 1, lang: en, voice: 'piper:en_US-joe-medium:1.0', "
        "says: ['I lost my bank card'], expect: {intent: card_lost, service: personal}}\n",
        encoding="utf-8")
    result = run_cli("sim", "run", str(scenario), "--report", str(tmp_path / "r"),
                     timeout_s=300)
    summary = last_json(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert summary["routing_accuracy"] == 1.0 and summary["wer"] is not None
    assert summary["wer"] <= 0.25 and summary["cer_zh"] is None
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    customer = data["customers"][0]
    assert customer["heard"][0].lower().startswith("i lost my bank card")
    assert customer["said"] == ["I lost my bank card", "yes"] and customer["outcome"] == "served"


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright
    from test_kiosk import CHROMIUM, CHROMIUM_FLAGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser.new_page()
        browser.close()
