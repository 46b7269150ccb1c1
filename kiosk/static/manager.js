// The lobby manager's page (staff only): fraud alerts live, newest first.
"use strict";

const get = (id) => document.getElementById(id);
const REASONS = {
  safe_account: "安全账户 / safe account",
  impersonation: "冒充公检法、客服或熟人 / impersonation",
  investment: "投资理财骗局 / investment scam",
  task_scam: "刷单返利 / task scam",
  refund: "冒充客服退款 / fake refund",
  loan_fee: "贷款先交费 / loan fee",
  romance: "网恋交友 / romance scam",
  secrecy: "被要求保密 / told to keep it secret",
  on_phone: "正被电话指挥 / instructed on the phone",
  remote_app: "共享屏幕、会议软件 / screen sharing",
  urgent_stranger: "急转陌生人 / urgent money for a stranger",
  victim_report: "已被骗 / already defrauded",
};
const seen = new Set();

function showAlert(alert) {
  if (seen.has(alert.alert_id)) return;
  seen.add(alert.alert_id);
  get("no-alerts").hidden = true;
  const level = alert.level === "high" ? "高风险 · HIGH" : "提示 · CAUTION";
  const time = new Date(alert.at * 1000).toLocaleTimeString();
  const item = element("li", { class: `alert ${alert.level}`, dataset: { session: alert.session } },
    element("p", { class: "level" }, `${level}  ${time}`),
    element("p", { class: "reasons" }, alert.reasons.map((r) => REASONS[r] || r).join("；")),
    element("p", { class: "excerpt" }, `“${alert.excerpt}”`),
    element("p", { class: "where" }, `${alert.session}` + (alert.ticket ? ` · ${alert.ticket}` : "")));
  get("alerts").prepend(item);
}

async function main() {
  const settings = await getJSON("/api/settings");
  get("title").textContent = `${settings.branch.zh} · 大堂经理`;
  get("subtitle").textContent = "反诈提醒 / Fraud alerts";
  get("alerts-title").textContent = "需要您过去看看的客户 / Customers who need you now";
  get("no-alerts").textContent = "暂无提醒 / No alerts";
  get("unavailable").textContent = LABELS.zh.unavailable;
  get("unavailable").hidden = settings.routing;
  const source = new EventSource("/api/staff/events");
  source.addEventListener("alert", (event) => showAlert(JSON.parse(event.data)));
  source.addEventListener("status", (event) => {
    get("unavailable").hidden = JSON.parse(event.data).routing;
  });
}

main();
