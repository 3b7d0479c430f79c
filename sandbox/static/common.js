// What every part of the page shares: the state, the sandbox's routes, and notes in the message list.

export const $ = (selector) => document.querySelector(selector);
export const state = {
  world: null, member: null, place: "channel", messages: new Map(), socket: null, selected: -1, choices: [],
  form: null, sending: false, loads: 0,
};

export async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  return answerOf(response);
}

export async function answerOf(response) {
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `the sandbox answered ${response.status}`);
  return answer;
}

export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function systemNote(text) {
  const element = document.createElement("div");
  element.className = "message system";
  element.textContent = text;
  $("#messages").append(element);
  $("#messages").scrollTop = $("#messages").scrollHeight;
}
