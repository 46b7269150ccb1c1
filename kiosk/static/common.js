// Shared by the kiosk, board and teller pages: labels, JSON calls, the live event stream.
"use strict";

const LABELS = {
  zh: {
    services: "请选择业务，或直接告诉我您要办什么",
    send: "发送",
    placeholder: "在这里输入，例如：我的卡丢了",
    ticket: "您的号码",
    where: "请到",
    eta: "预计等待",
    minutes: (n) => `${n} 分钟`,
    done: "完成",
    unavailable: "取号系统暂时不可用，请稍候或联系工作人员。",
    error: "出错了，请再试一次。",
    nowCalling: "正在叫号",
    waiting: "等候人数",
    next: "下一位",
    people: (n) => `${n} 人`,
    counter: "窗口",
    callNext: "叫下一位",
    recall: "重呼",
    serve: "开始办理",
    finish: "办理完成",
    noShow: "过号",
    noneWaiting: "暂无等候",
    langToggle: "EN",
    talk: "按住说话",
    listening: "请说…松开结束",
    notHeard: "没听清，请再说一遍或直接输入。",
  },
  en: {
    services: "Choose a service, or just tell me what you need",
    send: "Send",
    placeholder: "Type here, e.g. I lost my card",
    talk: "Hold to talk",
    listening: "Listening… release to send",
    notHeard: "Sorry, I did not catch that. Please say it again or type it.",
    ticket: "Your number",
    where: "Please go to",
    eta: "Expected wait",
    minutes: (n) => `${n} min`,
    done: "Done",
    unavailable: "The ticket system is temporarily unavailable. Please wait or ask a member of staff.",
    error: "Something went wrong, please try again.",
    nowCalling: "Now calling",
    waiting: "Waiting",
    next: "Next",
    people: (n) => `${n} waiting`,
    counter: "Counter",
    callNext: "Call next",
    recall: "Recall",
    serve: "Serving",
    finish: "Done",
    noShow: "No-show",
    noneWaiting: "Nobody waiting",
    langToggle: "中文",
  },
};

async function postJSON(path, data) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function postAudio(path, blob) {
  const response = await fetch(path, { method: "POST", body: blob,
                                       headers: { "Content-Type": "audio/wav" } });
  const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function getJSON(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

// Live updates: {status: fn, board: fn}. EventSource reconnects by itself.
function listen(handlers) {
  const source = new EventSource("/api/events");
  for (const [kind, handler] of Object.entries(handlers)) {
    source.addEventListener(kind, (event) => handler(JSON.parse(event.data)));
  }
  return source;
}

// An idempotency key (crypto.randomUUID needs a secure context; a LAN kiosk may lack one).
function requestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function element(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}
