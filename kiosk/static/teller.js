// The teller page: call next to a counter; recall / serve / done / no-show the called ticket.
"use strict";

const teller = { current: null };
const get = (id) => document.getElementById(id);
const L = LABELS.zh;

function setCurrent(ticket) {
  teller.current = ticket ? ticket.number : null;
  get("current").textContent = teller.current || "—";
  // The fraud guard flagged this customer's conversation: check before moving any money.
  const risk = ticket ? ticket.risk : "none";
  get("risk").hidden = risk === "none";
  get("risk").textContent = risk === "high"
    ? "反诈高风险：请先与大堂经理核实，再办理转账或取现 / Fraud risk: verify with the lobby manager first"
    : "反诈提示：请留意是否有人指使客户转账 / Fraud caution: check nobody is directing the customer";
  for (const id of ["recall", "serve", "finish", "no-show"]) get(id).disabled = !teller.current;
}

async function act(action) {
  const request = { action, counter: get("counter").value, ticket: teller.current || "" };
  try {
    const result = await postJSON("/api/teller", request);
    get("result").textContent = result.ok
      ? `${action}: ${result.ticket.number} (${result.ticket.state})`
      : result.error || L.noneWaiting;
    if (result.unavailable) get("unavailable").hidden = false;
    if (!result.ok) return;
    if (action === "call_next") setCurrent(result.ticket);
    else if (action === "done" || action === "no_show") setCurrent(null);
  } catch (error) {
    get("result").textContent = error.message;
  }
}

async function main() {
  const settings = await getJSON("/api/settings");
  get("title").textContent = settings.branch.zh;
  get("counter-label").textContent = L.counter;
  get("counter").replaceChildren(...settings.counters.map((counter) => element(
    "option", { value: counter.id }, `${counter.name.zh} / ${counter.name.en}`)));
  get("call-next").textContent = `${L.callNext} / ${LABELS.en.callNext}`;
  get("recall").textContent = L.recall;
  get("serve").textContent = L.serve;
  get("finish").textContent = L.finish;
  get("no-show").textContent = L.noShow;
  get("unavailable").textContent = L.unavailable;
  get("unavailable").hidden = settings.routing;
  get("call-next").addEventListener("click", () => act("call_next"));
  for (const id of ["recall", "serve", "finish", "no-show"]) {
    get(id).addEventListener("click", () => act(get(id).dataset.action));
  }
  get("counter").addEventListener("change", () => setCurrent(null));
  const source = new EventSource("/api/staff/events");
  source.addEventListener("status", (event) => {
    get("unavailable").hidden = JSON.parse(event.data).routing;
  });
}

main();
