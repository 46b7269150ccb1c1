"""Kiosk tablet mode end to end: `lobbybot kiosk` processes over ZMQ, driven by real Chromium.

Screenshots land in test-artifacts/kiosk/ (CI keeps them).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO, Proc, _free_port_triple, all_day_branch_text, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
STAFF_TOKEN = "staff-token-for-the-tests-0123"
ARTIFACTS = REPO / "test-artifacts" / "kiosk"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
requires_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian chromium not installed (make setup installs it)")


@dataclass
class Stack:
    """A running `lobbybot kiosk`: ZMQ bus + routing + kiosk web UI."""

    proc: Proc
    url: str
    db: Path
    env: dict[str, str]

    def post(self, path: str, data: object, url: str | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict]:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        request = urllib.request.Request((url or self.url) + path.lstrip("/"), data=body,
                                         headers={"Content-Type": "application/json",
                                                  **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def get_status(self, path: str, headers: dict[str, str]) -> int:
        request = urllib.request.Request(self.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def get(self, path: str, url: str | None = None) -> dict:
        with urllib.request.urlopen((url or self.url) + path.lstrip("/"), timeout=10) as r:
            return json.loads(r.read())

    def tickets(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT number, request_id FROM tickets").fetchall()

    def routing_pid(self) -> int:
        return int(self.proc.wait_for(r"started routing \(pid (\d+)\)").group(1))

    def start(self, language: str = "zh") -> str:
        status, reply = self.post("/api/start", {"language": language})
        assert status == 200, reply
        return reply["session"]


def start_stack(directory: Path, *args: str, **env: str) -> Stack:
    config = directory / "branch.yaml"
    config.write_text(all_day_branch_text(), encoding="utf-8")
    env = {"LOBBYBOT_ZMQ_PORT": str(_free_port_triple()), **env}
    db = directory / "tickets.sqlite"
    proc = Proc(["kiosk", "--port", "0", "--config", str(config), "--db", str(db),
                 "--staff-token", STAFF_TOKEN, *args], env)
    url = proc.wait_for(r"kiosk web UI on (http://\S+/) ", 30).group(1)
    proc.wait_for("routing available", 20)
    return Stack(proc, url, db, env)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("kiosk"))
    yield running
    running.proc.kill()


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright) -> Iterator:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# -- touch UI --------------------------------------------------------------------------------
@requires_chromium
def test_tapping_a_service_shows_ticket_counter_and_wait(stack, page):
    page.goto(stack.url)
    page.locator("#greeting").filter(has_text="欢迎").wait_for()
    page.click("button.service[data-service=cash]")
    page.locator("#ticket").wait_for(state="visible", timeout=5000)
    number = page.inner_text("#ticket-number")
    assert re.fullmatch(r"A\d{3}", number), number
    assert page.inner_text("#ticket-destination").endswith("窗口")
    assert re.search(r"\d+ 分钟", page.inner_text("#ticket-eta"))
    shot(page, "ticket-tapped")
    assert (number, ) in {(n, ) for n, _ in stack.tickets()}, "the ticket is in the book"


@requires_chromium
def test_typed_lost_card_is_confirmed_then_ticketed_for_personal(stack, page):
    page.goto(stack.url)
    page.locator("#greeting").filter(has_text="欢迎").wait_for()
    page.fill("#say-input", "我的卡丢了")
    page.click("#say-send")
    page.locator("#log li.robot").filter(has_text="挂失银行卡，对吗").wait_for(timeout=5000)
    assert page.locator("#ticket").is_hidden(), "nothing issued before the customer confirms"
    page.fill("#say-input", "对")
    page.press("#say-input", "Enter")
    page.locator("#ticket").wait_for(state="visible", timeout=5000)
    assert page.inner_text("#ticket-number").startswith("B")  # personal banking
    shot(page, "ticket-conversation")


@requires_chromium
def test_english_toggle_and_accessibility_mode(stack, page):
    page.goto(stack.url)
    page.locator("#greeting").filter(has_text="欢迎").wait_for()
    page.click("#lang-toggle")
    page.locator("#greeting").filter(has_text="welcome").wait_for()
    assert page.inner_text("button.service[data-service=forex] .name") == "Foreign exchange"
    size = page.evaluate("getComputedStyle(document.body).fontSize")
    page.click("#a11y-toggle")
    assert float(page.evaluate("getComputedStyle(document.body).fontSize")[:-2]) > \
        float(size[:-2]) * 1.3
    shot(page, "english-large")


@requires_chromium
def test_board_shows_the_call_live_when_teller_calls_next(stack, browser, page):
    """The open board page shows the call without a reload (pushed over the event stream).
    How fast is measured by bench/kiosk.py (teller call → board, p50/p95): a timed assert
    here would fail on a loaded CI machine without saying anything about the product."""
    session = stack.start()
    status, reply = stack.post("/api/choose", {"session": session, "service": "wealth",
                                               "language": "zh", "request_id": "board-1"})
    assert status == 200 and reply["ticket"], reply
    number = reply["ticket"]["number"]
    counter = reply["ticket"]["destination"]
    page.goto(stack.url + "board")
    page.locator("#waiting tr[data-service=wealth]").filter(has_text=number).wait_for()
    teller_context = browser.new_context()
    teller = teller_context.new_page()
    teller.goto(stack.url + f"teller?staff={STAFF_TOKEN}")
    teller.select_option("#counter", counter)
    teller.click("#call-next")
    page.locator(f"#calling tr[data-ticket='{number}']").wait_for(timeout=5000)
    assert teller.inner_text("#current") == number
    shot(page, "board")
    shot(teller, "teller")
    teller.click("#finish")
    teller.locator("#result").filter(has_text="done").wait_for()
    teller_context.close()


# -- API: bad input gets a clear error, nothing issued ---------------------------------------
def test_bad_requests_get_clear_errors_and_issue_nothing(stack):
    before = len(stack.tickets())
    session = stack.start()
    cases = [
        ("/api/say", b"not json", "not JSON"),
        ("/api/say", b"[1, 2]", "JSON object"),
        ("/api/say", {"session": session, "text": 5}, "'text' must be a string"),
        ("/api/say", {"session": session, "text": "   "}, "empty"),
        ("/api/say", {"session": "kiosk-x", "text": "x" * 501}, "longer than 500"),
        ("/api/say", {"session": "nobody", "text": "hi"}, "unknown session"),
        ("/api/choose", {"session": session, "service": "casino", "language": "zh",
                         "request_id": "r"}, "unknown service 'casino'"),
        ("/api/choose", {"session": session, "service": "cash", "language": "fr",
                         "request_id": "r"}, "language must be"),
        ("/api/choose", {"session": session, "service": "cash", "language": "zh"},
         "request_id"),
        ("/api/teller", {"action": "call_next", "counter": "c99"}, "unknown counter"),
        ("/api/teller", {"action": "explode", "ticket": "A001"}, "unknown action"),
    ]
    staff = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    for path, body, expected in cases:
        status, reply = stack.post(path, body, headers=staff if "teller" in path else None)
        assert status == 400 and expected in reply["error"], (path, body, reply)
    status, reply = stack.post("/api/say", b"x" * 20000)
    assert status == 413
    assert len(stack.tickets()) == before


@requires_chromium
def test_push_to_talk_through_chromiums_microphone(stack, playwright, tmp_path):
    """Chromium's (fake) microphone plays a real recording; holding the button records it,
    the kiosk transcribes it on the device and answers like a typed request."""
    import numpy as np
    import soundfile as sf
    import soxr

    from speech.voices import speak

    words = speak("I lost my bank card.", "piper:en_US-joe-medium:1.0")
    mic = tmp_path / "mic.wav"
    audio = np.concatenate([np.zeros(4000, np.float32), words, np.zeros(48000, np.float32)])
    sf.write(mic, soxr.resample(audio, 16000, 48000), 48000, subtype="PCM_16")
    flags = [*CHROMIUM_FLAGS, "--use-fake-ui-for-media-stream",
             "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={mic}"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800},
                                      permissions=["microphone"])
        page = context.new_page()
        page.goto(stack.url)
        page.locator("#greeting").filter(has_text="欢迎").wait_for()
        talk = page.locator("#talk")
        talk.wait_for(state="visible")
        box = talk.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.locator("#talk.on").wait_for(timeout=5000)
        page.wait_for_timeout(int(1000 * len(words) / 16000) + 900)
        shot(page, "push-to-talk-listening")
        page.mouse.up()
        customer = page.locator("#log li.customer").last
        customer.wait_for(timeout=20000)
        assert "lost my bank card" in customer.inner_text().lower()
        page.locator("#log li.robot").filter(has_text="lost card").wait_for(timeout=5000)
        assert page.locator("html").get_attribute("lang") == "en"  # followed the customer
        shot(page, "push-to-talk-answered")
    finally:
        browser.close()


def test_push_to_talk_rejects_what_is_not_a_recording(stack):
    session = stack.start()
    status, reply = stack.post(f"/api/listen?session={session}", b"hello, not audio")
    assert status == 400 and "recording" in reply["error"]
    status, reply = stack.post("/api/listen?session=nobody", b"RIFF")
    assert status == 400 and "unknown session" in reply["error"]
    silence = io.BytesIO()
    import numpy as np
    import soundfile as sf

    sf.write(silence, np.zeros(16000, np.float32), 16000, format="WAV")
    status, reply = stack.post(f"/api/listen?session={session}", silence.getvalue())
    assert status == 200 and reply["heard"] == "" and reply["ticket"] is None


def test_same_request_id_is_one_ticket(stack):
    session = stack.start("en")
    request = {"session": session, "service": "forex", "language": "en", "request_id": "dup-1"}
    first = stack.post("/api/choose", request)[1]
    again = stack.post("/api/choose", request)[1]
    assert first["ticket"]["number"] == again["ticket"]["number"]
    assert "Foreign" in first["ticket"]["service_name"]["en"]
    assert [r for _, r in stack.tickets()].count("dup-1") == 1


# -- resilience ------------------------------------------------------------------------------
@requires_chromium
def test_routing_killed_while_kiosk_open_shows_unavailable_and_loses_nothing(tmp_path,
                                                                              browser):
    stack = start_stack(tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        session = stack.start()
        before = [stack.post("/api/choose", {"session": session, "service": "cash",
                                             "language": "zh", "request_id": f"pre-{i}"})[1]
                  ["ticket"]["number"] for i in range(3)]
        page.goto(stack.url)
        page.locator("#greeting").filter(has_text="欢迎").wait_for()
        assert page.locator("#unavailable").is_hidden()
        os.kill(stack.routing_pid(), signal.SIGKILL)
        page.click("button.service[data-service=personal]")  # tapped while routing is down
        page.locator("#unavailable").wait_for(state="visible", timeout=5000)
        assert "暂时不可用" in page.inner_text("#unavailable")
        shot(page, "routing-unavailable")
        stack.proc.wait_for(r"started routing \(pid", 10, start=0)
        page.locator("#ticket").wait_for(state="visible", timeout=20000)
        page.locator("#unavailable").wait_for(state="hidden", timeout=10000)
        after = page.inner_text("#ticket-number")
        assert after.startswith("B")
        shot(page, "routing-recovered")
        numbers = [n for n, _ in stack.tickets()]
        assert sorted(numbers) == sorted([*before, after]), "every ticket once, none lost"
        board = stack.get("/api/board")
        waiting = {q["service"]: q["next"] for q in board["waiting"]}
        assert set(before) <= set(waiting["cash"]) and after in waiting["personal"]
    finally:
        context.close()
        stack.proc.kill()


@requires_chromium
def test_two_kiosks_and_one_board_never_collide(tmp_path, browser):
    stack = start_stack(tmp_path)
    second = Proc(["node", "run", "kiosk", "--transport", "zmq", "--ros-args",
                   "-p", "http_port:=0", "-p", f"branch_config:={tmp_path / 'branch.yaml'}"],
                  stack.env)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        other_url = second.wait_for(r"kiosk web UI on (http://\S+/) ", 30).group(1)
        second.wait_for("routing available", 20)
        issued: list[str] = []
        lock = threading.Lock()

        def customers(url: str, tag: str) -> None:
            for i in range(15):
                status, reply = stack.post("/api/start", {"language": "zh"}, url)
                status, reply = stack.post("/api/choose", {
                    "session": reply["session"], "service": "cash", "language": "zh",
                    "request_id": f"{tag}-{i}"}, url)
                assert status == 200 and reply["ticket"], reply
                with lock:
                    issued.append(reply["ticket"]["number"])

        workers = [threading.Thread(target=customers, args=(url, tag))
                   for url, tag in ((stack.url, "k1"), (other_url, "k2"))]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert len(issued) == 30 and len(set(issued)) == 30, sorted(issued)
        board = context.new_page()
        board.goto(stack.url + "board")
        board.locator("#waiting tr[data-service=cash] td.count").filter(
            has_text="30 人").wait_for(timeout=3000)
        shot(board, "board-two-kiosks")
        assert wait_until(lambda: {q["service"]: q["count"] for q in stack.get(
            "/api/board", other_url)["waiting"]}["cash"] == 30, 3)
    finally:
        context.close()
        second.kill()
        stack.proc.kill()


# -- security --------------------------------------------------------------------------------
def test_web_ui_off_loopback_needs_a_token(tmp_path):
    proc = Proc(["node", "run", "kiosk", "--transport", "zmq", "--ros-args",
                 "-p", "http_host:=0.0.0.0", "-p", "http_port:=0"],
                {"LOBBYBOT_ZMQ_PORT": str(_free_port_triple())})
    assert proc.popen.wait(30) == 2
    assert "not loopback: set a token" in proc.output()


def test_token_is_required_when_set(tmp_path):
    token = "s3cret-token-for-tests-123"
    proc = Proc(["node", "run", "kiosk", "--transport", "zmq", "--ros-args",
                 "-p", "http_port:=0", "-p", f"token:={token}"],
                {"LOBBYBOT_ZMQ_PORT": str(_free_port_triple())})
    try:
        url = proc.wait_for(r"kiosk web UI on (http://\S+/) ", 30).group(1)
        for path in ("", "board", "api/settings"):
            with pytest.raises(urllib.error.HTTPError) as denied:
                urllib.request.urlopen(url + path, timeout=5)
            assert denied.value.code == 401
        request = urllib.request.Request(url + "api/settings",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["routing"] is False  # no routing running
        with urllib.request.urlopen(f"{url}?token={token}", timeout=5) as response:
            assert "lobbybot_kiosk=" in response.headers["Set-Cookie"]
            assert "HttpOnly" in response.headers["Set-Cookie"]
    finally:
        proc.kill()


def test_network_mode_with_curve_keys_and_token(tmp_path):
    """Bus and web UI on all interfaces: CURVE keys for ZMQ, a token for HTTP."""
    from conftest import last_json, run_cli

    made = run_cli("kiosk", "keys", str(tmp_path / "keys"))
    assert made.returncode == 0 and last_json(made.stdout)["ok"]
    again = run_cli("kiosk", "keys", str(tmp_path / "keys"))
    assert again.returncode == 2 and "already holds keys" in again.stderr
    token = "network-mode-token-0123456789"
    stack = start_stack(tmp_path, "--host", "0.0.0.0", "--token", token,
                        "--keys", str(tmp_path / "keys"), LOBBYBOT_ZMQ_HOST="0.0.0.0")
    try:
        stack.proc.wait_for("CURVE")
        request = urllib.request.Request(stack.url + "api/start", data=b'{"language": "en"}',
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            session = json.loads(response.read())["session"]
        request = urllib.request.Request(
            stack.url + "api/choose", headers={"Authorization": f"Bearer {token}"},
            data=json.dumps({"session": session, "service": "loans", "language": "en",
                             "request_id": "net-1"}).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["ticket"]["number"].startswith("C")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(stack.url + "api/settings", timeout=5)
    finally:
        stack.proc.kill()


# -- staff and customers ---------------------------------------------------------------------
def _staff_calls_from(stack: Stack, headers: dict[str, str]) -> list[tuple[str, int]]:
    """Every staff action and the alert streams, tried with ``headers``: their statuses."""
    out = []
    for action in ({"action": "call_next", "counter": "c1"}, {"action": "no_show",
                                                               "ticket": "A001"}):
        out.append((f"teller {action['action']}", stack.post("/api/teller", action,
                                                             headers=headers)[0]))
    for path in ("api/alerts", "api/staff/events", "teller", "manager"):
        request = urllib.request.Request(stack.url + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                out.append((path, response.status))
        except urllib.error.HTTPError as exc:
            out.append((path, exc.code))
    return out


def test_customer_side_cannot_call_tickets_or_read_alerts_on_loopback(stack):
    session = stack.start()
    stack.post("/api/choose", {"session": session, "service": "cash", "language": "zh",
                               "request_id": "staff-check-1"})
    before = stack.tickets()
    refused = _staff_calls_from(stack, {})
    assert all(status == 401 for _, status in refused), refused
    wrong = _staff_calls_from(stack, {"Authorization": "Bearer not-the-staff-token-at-all"})
    assert all(status == 401 for _, status in wrong), wrong
    assert stack.tickets() == before, "nothing was called or changed"
    status, reply = stack.post("/api/teller", {"action": "call_next", "counter": "c1"},
                               headers={"Authorization": f"Bearer {STAFF_TOKEN}"})
    assert status == 200 and reply["ok"] and reply["ticket"]["risk"] == "none"


def test_customer_token_off_loopback_opens_no_staff_action(tmp_path):
    token = "customer-token-0123456789abc"
    stack = start_stack(tmp_path, "--host", "0.0.0.0", "--token", token)
    try:
        customer = {"Authorization": f"Bearer {token}"}
        assert stack.get_status("api/settings", customer) == 200
        refused = _staff_calls_from(stack, customer)
        assert all(status == 401 for _, status in refused), refused
        staff = {"Authorization": f"Bearer {STAFF_TOKEN}"}
        assert stack.get_status("api/alerts", staff) == 200
        assert stack.get_status("api/settings", staff) == 200, "the teller page reads them"
    finally:
        stack.proc.kill()


def test_staff_token_must_differ_from_the_customer_token(tmp_path):
    proc = Proc(["node", "run", "kiosk", "--transport", "zmq", "--ros-args",
                 "-p", "http_port:=0", "-p", f"token:={STAFF_TOKEN}",
                 "-p", f"staff_token:={STAFF_TOKEN}"],
                {"LOBBYBOT_ZMQ_PORT": str(_free_port_triple())})
    assert proc.popen.wait(30) == 2
    assert "must differ from the customer token" in proc.output()


@requires_chromium
def test_fraud_victim_is_shown_live_on_the_manager_page_and_flagged_to_the_teller(
        stack, browser, page):
    manager_context = browser.new_context(viewport={"width": 1280, "height": 800})
    manager = manager_context.new_page()
    try:
        manager.goto(stack.url + "manager")
        assert "Staff token" in manager.content(), "a sign-in form, not the alerts"
        manager.goto(stack.url + f"manager?staff={STAFF_TOKEN}")
        manager.locator("#no-alerts").wait_for()
        page.goto(stack.url)
        page.locator("#greeting").filter(has_text="欢迎").wait_for()
        page.fill("#say-input", "警察打电话说我的账户涉嫌洗钱，让我把钱转到安全账户")
        page.click("#say-send")
        page.locator("#log li.robot").filter(has_text="大堂经理").wait_for(timeout=5000)
        assert page.locator("#ticket").is_hidden()
        alert = manager.locator("#alerts li.alert.high").first
        alert.wait_for(timeout=5000)
        assert "安全账户" in alert.inner_text()
        shot(manager, "manager-fraud-alert")
        page.click("button.service[data-service=personal]")  # other business goes on
        page.locator("#ticket").wait_for(state="visible", timeout=5000)
        number = page.inner_text("#ticket-number")
        with sqlite3.connect(stack.db) as db:
            [(risk,)] = db.execute("SELECT risk_level FROM tickets WHERE number=?", (number,))
        assert risk == 2, "the ticket carries the flag the teller sees"
    finally:
        manager_context.close()
