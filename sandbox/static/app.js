// The sandbox page: one channel of the emulated Discord, and each member's direct messages with the bot,
// as the chosen member sees them. Commands, button presses, menu choices and forms go to the real bot
// through the emulator; every change comes back over a WebSocket. Plain JavaScript, no build step,
// nothing from the network.

import { $, api, state } from "./common.js";
import { hideSuggestions, keys, submit, updateOptions, updateSuggestions } from "./composer.js";
import { submitForm } from "./forms.js";
import { show } from "./messages.js";

// A jump link to the other place (a receipt in the channel for a job posted in DMs) goes there first.
async function jump(event) {
  const link = event.target.closest("a[data-place]");
  if (!link || link.dataset.place === state.place) return;
  event.preventDefault();
  await showPlace(link.dataset.place);
  document.querySelector(link.getAttribute("href"))?.scrollIntoView();
}

// ---- members, places and live updates --------------------------------------------------------

// The server's channel, or the member's direct messages with the bot (where their private results go).
async function showPlace(place) {
  state.place = place;
  const dms = place === "dm";
  $("#to-channel").setAttribute("aria-pressed", String(!dms));
  $("#to-dms").setAttribute("aria-pressed", String(dms));
  $("#place-mark").textContent = dms ? "@" : "#";
  $("#channel").textContent = dms ? state.world.bot.name : state.world.channel.name;
  $("#guild").textContent = dms ? "Direct messages" : state.world.guild;
  if (dms) $("#dm-new").hidden = true;
  $("#input").disabled = dms;
  $("#input").placeholder = dms
    ? `Commands are for #${state.world.channel.name}; the buttons here work`
    : "Type / for commands, e.g. /imagine a red circle on a blue background";
  $("#composer button[type=submit]").disabled = dms;
  $("#options").hidden = dms || !$("#options").dataset.command;
  hideSuggestions();
  const load = ++state.loads;
  const messages = await api(`/sandbox/messages?member=${state.member}${dms ? "&place=dm" : ""}`);
  if (load !== state.loads) return;  // the member switched again meanwhile
  state.messages.clear();
  $("#messages").replaceChildren();
  for (const message of messages) show(message);
  if (dms && !state.messages.size) {
    const empty = document.createElement("div");
    empty.className = "message system empty";
    empty.textContent = "No direct messages yet. With /settings private:true your images come here, " +
      "and 📩 under an image sends it here.";
    $("#messages").append(empty);
  }
}

async function becomeMember(memberId) {
  state.member = memberId;
  localStorage.setItem("sandbox-member", memberId);
  $("#dm-new").hidden = true;
  if ($("#modal").open) $("#modal").close();
  await showPlace(state.place);
  state.socket?.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/sandbox/events?member=${memberId}`);
  socket.addEventListener("message", (event) => {
    const update = JSON.parse(event.data);
    if (update.type !== "message") return;
    if (update.message.dm === (state.place === "dm")) show(update.message);
    else if (update.message.dm && !update.message.deleted) $("#dm-new").hidden = false;
  });
  socket.addEventListener("close", () => {
    if (state.socket === socket) setTimeout(() => becomeMember(state.member), 1000);
  });
  state.socket = socket;
}

async function start() {
  state.world = await api("/sandbox/world");
  if (!state.world.commands.length) {  // the bot syncs its commands a moment after the page opens
    setTimeout(start, 500);
    return;
  }
  $("#to-channel").textContent = `# ${state.world.channel.name}`;
  const select = $("#member");
  select.innerHTML = "";
  for (const member of state.world.members) {
    const option = new Option(member.name + (member.admin ? " (server admin)" : ""), member.id);
    select.append(option);
  }
  const remembered = localStorage.getItem("sandbox-member");
  select.value = state.world.members.some((m) => m.id === remembered) ? remembered : state.world.members[0].id;
  select.addEventListener("change", () => becomeMember(select.value));
  $("#input").addEventListener("input", () => { state.selected = -1; updateSuggestions(); updateOptions(); });
  $("#input").addEventListener("keydown", keys);
  $("#composer").addEventListener("submit", submit);
  $("#messages").addEventListener("click", jump);
  $("#to-channel").addEventListener("click", () => showPlace("channel"));
  $("#to-dms").addEventListener("click", () => showPlace("dm"));
  $("#modal-form").addEventListener("submit", submitForm);
  $("#modal-form").addEventListener("change", () => { $("#modal-error").hidden = true; });
  $("#modal-cancel").addEventListener("click", () => $("#modal").close());  // Discord sends nothing
  $("#modal").addEventListener("close", () => { state.form = null; });
  await becomeMember(select.value);
  $("#input").focus();
}

start();
