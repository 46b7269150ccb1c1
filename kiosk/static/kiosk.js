// The kiosk page: greeting, service buttons, typed conversation, the issued ticket.
"use strict";

const RETRY_MS = 2000;
const state = {
  lang: "zh",
  session: null,
  settings: null,
  routing: false,
  pending: null, // a tapped service waiting for routing: retried with the same request_id
  sending: false,
  idleTimer: null,
  recorder: null, // push-to-talk in progress: { context, stream, node, chunks }
};

const MAX_TALK_S = 20;

const $ = (id) => document.getElementById(id);

function text(key, ...args) {
  const value = LABELS[state.lang][key];
  return typeof value === "function" ? value(...args) : value;
}

function speak(sentence, lang) {
  // Spoken replies through the browser's own (on-device) voices, where it has any.
  if (!("speechSynthesis" in window) || !sentence) return;
  window.speechSynthesis.cancel();
  const utterance = new SpeechSynthesisUtterance(sentence);
  utterance.lang = lang === "zh" ? "zh-CN" : "en-US";
  window.speechSynthesis.speak(utterance);
}

function drawLabels() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  $("lang-toggle").textContent = text("langToggle");
  $("services-title").textContent = text("services");
  $("say-send").textContent = text("send");
  $("say-input").placeholder = text("placeholder");
  $("talk").textContent = state.recorder ? text("listening") : text("talk");
  $("ticket-label").textContent = text("ticket");
  $("ticket-where-label").textContent = text("where");
  $("ticket-eta-label").textContent = text("eta");
  $("done").textContent = text("done");
  $("unavailable").textContent = text("unavailable");
  if (state.settings) {
    $("branch").textContent = state.settings.branch[state.lang];
    const box = $("services");
    box.replaceChildren(...state.settings.services.map((service) => element(
      "button", { class: "service", type: "button", dataset: { service: service.id },
                  onclick: () => choose(service.id) },
      element("span", { class: "prefix" }, service.prefix),
      element("span", { class: "name" }, service.name[state.lang]))));
  }
}

function addLine(who, sentence) {
  const log = $("log");
  log.append(element("li", { class: who }, sentence));
  log.scrollTop = log.scrollHeight;
}

function showTicket(ticket) {
  $("ticket-number").textContent = ticket.number || "—";
  $("ticket-destination").textContent = ticket.destination_name;
  $("ticket-eta").textContent = text("minutes", ticket.eta_min);
  $("ticket-directions").textContent = ticket.directions;
  $("ticket").hidden = false;
  $("welcome").hidden = true;
}

function showReply(reply) {
  if (reply.ticket && !state.routing) setRouting(true); // a ticket came: routing is back
  addLine("robot", reply.text);
  speak(reply.text, reply.language);
  if (reply.ticket) showTicket(reply.ticket);
}

function setRouting(available) {
  state.routing = available;
  $("unavailable").hidden = available;
  document.body.classList.toggle("degraded", !available);
  if (available && state.pending) retryPending();
}

async function start() {
  clearTimeout(state.idleTimer);
  state.pending = null;
  $("log").replaceChildren();
  $("ticket").hidden = true;
  $("welcome").hidden = false;
  $("say-input").value = "";
  try {
    const reply = await postJSON("/api/start", { language: state.lang });
    state.session = reply.session;
    $("greeting").textContent = reply.text;
  } catch (error) {
    $("greeting").textContent = text("error");
  }
}

function touched() {
  clearTimeout(state.idleTimer);
  const idle = (state.settings ? state.settings.idle_reset_s : 60) * 1000;
  state.idleTimer = setTimeout(start, idle);
}

async function choose(service) {
  touched();
  const request = { session: state.session, service, language: state.lang,
                    request_id: requestId() };
  const name = state.settings.services.find((s) => s.id === service).name[state.lang];
  addLine("customer", name);
  state.pending = request;
  await retryPending();
}

async function retryPending() {
  const request = state.pending;
  if (!request || state.sending) return;
  state.sending = true;
  try {
    const reply = await postJSON("/api/choose", request);
    if (reply.unavailable) {
      // Kept pending and sent again with the same request_id: routing issues it once.
      setRouting(false);
      setTimeout(retryPending, RETRY_MS);
      return;
    }
    state.pending = null;
    showReply(reply);
  } catch (error) {
    state.pending = null;
    addLine("robot", text("error"));
  } finally {
    state.sending = false;
  }
}

async function say(event) {
  event.preventDefault();
  touched();
  const input = $("say-input");
  const sentence = input.value.trim();
  if (!sentence) return;
  input.value = "";
  addLine("customer", sentence);
  try {
    const reply = await postJSON("/api/say", { session: state.session, text: sentence });
    if (reply.language !== state.lang) {
      state.lang = reply.language; // the customer switched language: so does the screen
      drawLabels();
    }
    showReply(reply);
    if (reply.unavailable) setRouting(false);
  } catch (error) {
    addLine("robot", text("error"));
  }
}

// Push-to-talk: the microphone is opened only while the button is held; the recording is
// sent as a WAV to the kiosk (transcribed there, on the device) and never stored.
async function startTalking(event) {
  event.preventDefault();
  if (state.recorder || !state.session) return;
  touched();
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: {
      channelCount: 1, echoCancellation: true, noiseSuppression: true } });
    const context = new AudioContext();
    const source = context.createMediaStreamSource(stream);
    const node = context.createScriptProcessor(4096, 1, 1);
    const recorder = { context, stream, node, chunks: [], samples: 0 };
    node.onaudioprocess = (e) => {
      if (recorder.samples > MAX_TALK_S * context.sampleRate) return stopTalking();
      const chunk = new Float32Array(e.inputBuffer.getChannelData(0));
      recorder.chunks.push(chunk);
      recorder.samples += chunk.length;
    };
    source.connect(node);
    node.connect(context.destination);
    state.recorder = recorder;
    $("talk").classList.add("on");
    $("talk").setAttribute("aria-pressed", "true");
    $("talk").textContent = text("listening");
  } catch (error) {
    addLine("robot", text("notHeard"));
  }
}

function wavBlob(chunks, rate) {
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const view = new DataView(new ArrayBuffer(44 + 2 * length));
  const ascii = (at, s) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, "RIFF"); view.setUint32(4, 36 + 2 * length, true); ascii(8, "WAVEfmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, 2 * rate, true);
  view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  ascii(36, "data"); view.setUint32(40, 2 * length, true);
  let at = 44;
  for (const chunk of chunks) {
    for (const x of chunk) {
      view.setInt16(at, Math.max(-1, Math.min(1, x)) * 0x7fff, true);
      at += 2;
    }
  }
  return new Blob([view], { type: "audio/wav" });
}

async function stopTalking() {
  const recorder = state.recorder;
  if (!recorder) return;
  state.recorder = null;
  recorder.node.disconnect();
  recorder.stream.getTracks().forEach((track) => track.stop());
  const rate = recorder.context.sampleRate;
  recorder.context.close();
  $("talk").classList.remove("on");
  $("talk").setAttribute("aria-pressed", "false");
  $("talk").textContent = text("talk");
  try {
    const reply = await postAudio(`/api/listen?session=${encodeURIComponent(state.session)}`,
                                  wavBlob(recorder.chunks, rate));
    if (!reply.heard) {
      addLine("robot", text("notHeard"));
      return;
    }
    addLine("customer", reply.heard);
    if (reply.language && reply.language !== state.lang) {
      state.lang = reply.language;
      drawLabels();
    }
    showReply(reply);
    if (reply.unavailable) setRouting(false);
  } catch (error) {
    addLine("robot", text("error"));
  }
}

async function main() {
  state.settings = await getJSON("/api/settings");
  drawLabels();
  setRouting(state.settings.routing);
  $("lang-toggle").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    drawLabels();
    start();
  });
  $("a11y-toggle").addEventListener("click", () => {
    const on = document.body.classList.toggle("large");
    $("a11y-toggle").setAttribute("aria-pressed", String(on));
  });
  $("say-form").addEventListener("submit", say);
  if (state.settings.speech_input && navigator.mediaDevices) {
    const talk = $("talk");
    talk.hidden = false;
    talk.addEventListener("pointerdown", startTalking);
    talk.addEventListener("pointerup", stopTalking);
    talk.addEventListener("pointerleave", stopTalking);
  }
  $("done").addEventListener("click", start);
  document.addEventListener("pointerdown", touched);
  listen({ status: (status) => setRouting(status.routing) });
  await start();
}

main();
