"""Reports of a simulated run: ``report.json`` for programs, ``report.html`` for people."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .runner import SimResult


def failures(result: SimResult) -> list[str]:
    """Every unmet expectation, one line each (the run's exit status is 1 if any)."""
    out = []
    for c in result.customers:
        if c["intent_correct"] is False:
            out.append(f"{c['id']}: intent {c['intent'] or '-'} (expected {c['expected_intent']})")
        if c["routing_correct"] is False:
            got = c["service"] or "no ticket"
            want = c["expected_service"] or "no ticket"
            out.append(f"{c['id']}: routed to {got} (expected {want}); outcome {c['outcome']}")
    return out


def write_report(result: SimResult, directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data = {"scenario": result.scenario, "totals": result.totals,
            "failures": failures(result), "events": result.events,
            "customers": result.customers}
    json_path = directory / "report.json"
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    html_path = directory / "report.html"
    html_path.write_text(_html(data), encoding="utf-8")
    return json_path, html_path


def summary_table(result: SimResult) -> str:
    t = result.totals
    latency = t["reply_latency_ms"]
    rows = [("customers", t["customers"]), ("greeted", t["greeted"]),
            ("routing accuracy", t["routing_accuracy"]), ("intent accuracy",
                                                         t["intent_accuracy"]),
            ("reply latency p50/p95 ms", f"{latency['p50']} / {latency['p95']}"),
            ("mean wait s", t["mean_wait_s"]),
            ("queue count MAE (occupied zones)",
             f"{t['queue_count_mae']} ({t['queue_count_mae_occupied']})"),
            ("barge-ins", t["barge_ins"]),
            *([("ASR WER en / CER zh", f"{t['wer']} / {t['cer_zh']}")]
              if t.get("wer") is not None or t.get("cer_zh") is not None else []),
            ("simulated / wall s", f"{t['sim_s']} / {t['wall_s']} ({t['speed_x']}×)")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _html(data: dict) -> str:
    e = html.escape
    t = data["totals"]
    totals = "".join(f"<tr><th>{e(str(k))}</th><td>{e(json.dumps(v, ensure_ascii=False))}</td>"
                     "</tr>" for k, v in t.items())
    rows = []
    for c in data["customers"]:
        ok = c["routing_correct"] is not False and c["intent_correct"] is not False
        talk = "<br>".join(e(s) for s in c["said"])
        if c.get("heard"):  # speech: audio — what the robot's ASR made of it
            talk += "<br><small>heard: " + " | ".join(e(h) for h in c["heard"]) + "</small>"
        robot = "<br>".join(e(s) for s in c["robot_said"])
        rows.append(
            f"<tr class=\"{'ok' if ok else 'fail'}\"><td>{e(c['id'])}</td><td>{e(c['lang'])}</td>"
            f"<td>{e(c['behaviour'])}</td><td>{talk}</td><td>{robot}</td>"
            f"<td>{e(c['intent'])}<br><small>{e(c['expected_intent'])}</small></td>"
            f"<td>{e(c['ticket'])}</td><td>{e(c['service'])}<br><small>"
            f"{e(c['expected_service'])}</small></td><td>{e(c['destination'])}</td>"
            f"<td>{'' if c['wait_s'] is None else c['wait_s']}</td><td>{e(c['outcome'])}</td>"
            "</tr>")
    failed = "".join(f"<li>{e(f)}</li>" for f in data["failures"]) or "<li>none</li>"
    events = "".join(f"<li>{e(ev)}</li>" for ev in data["events"]) or "<li>none</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lobbybot sim: {e(data['scenario'])}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", system-ui, sans-serif; margin: 1.5em; color: #111; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
td, th {{ border: 1px solid #bbb; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }}
tr.fail td {{ background: #fde2e2; }} tr.ok td:first-child {{ border-left: 4px solid #2a8a3a; }}
tr.fail td:first-child {{ border-left: 4px solid #b00020; }} small {{ color: #666; }}
</style></head><body>
<h1>Simulated lobby: {e(data['scenario'])}</h1>
<h2>Totals</h2><table id="totals">{totals}</table>
<h2>Unmet expectations</h2><ul id="failures">{failed}</ul>
<h2>Faults and events</h2><ul>{events}</ul>
<h2>Customers</h2>
<table id="customers"><tr><th>id</th><th>lang</th><th>behaviour</th><th>said</th>
<th>robot said</th><th>intent<br><small>expected</small></th><th>ticket</th>
<th>service<br><small>expected</small></th><th>sent to</th><th>wait s</th><th>outcome</th></tr>
{''.join(rows)}</table>
</body></html>
"""
