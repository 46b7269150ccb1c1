// The display board (叫号屏): now calling (ticket → counter), waiting per service. Live.
"use strict";

const board = { lang: "zh", settings: null, last: { now_calling: [], waiting: [] } };
const byId = (id) => document.getElementById(id);
const label = (key, ...args) => {
  const value = LABELS[board.lang][key];
  return typeof value === "function" ? value(...args) : value;
};

function draw() {
  const data = board.last;
  byId("branch").textContent = board.settings ? board.settings.branch[board.lang] : "";
  byId("lang-toggle").textContent = label("langToggle");
  byId("calling-title").textContent = label("nowCalling");
  byId("waiting-title").textContent = label("waiting");
  byId("unavailable").textContent = label("unavailable");
  byId("calling").tBodies[0].replaceChildren(...data.now_calling.map((call) => element(
    "tr", { dataset: { ticket: call.ticket, counter: call.counter } },
    element("td", { class: "number" }, call.ticket),
    element("td", { class: "arrow" }, "→"),
    element("td", { class: "counter" }, call.counter_name[board.lang]))));
  byId("waiting").tBodies[0].replaceChildren(...data.waiting.map((queue) => element(
    "tr", { dataset: { service: queue.service } },
    element("td", { class: "service" }, queue.name[board.lang]),
    element("td", { class: "count" }, label("people", queue.count)),
    element("td", { class: "next" }, queue.next.join(" ")))));
}

async function main() {
  board.settings = await getJSON("/api/settings");
  byId("unavailable").hidden = board.settings.routing;
  byId("lang-toggle").addEventListener("click", () => {
    board.lang = board.lang === "zh" ? "en" : "zh";
    draw();
  });
  draw();
  listen({
    board: (data) => { board.last = data; draw(); },
    status: (status) => { byId("unavailable").hidden = status.routing; },
  });
}

main();
