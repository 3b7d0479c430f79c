// The sandbox page: one channel of the emulated Discord, as the chosen member sees it.
// Commands and button presses go to the real bot through the emulator; every change comes back
// over a WebSocket. Plain JavaScript, no build step, nothing from the network.

const $ = (selector) => document.querySelector(selector);
const state = { world: null, member: null, messages: new Map(), socket: null, selected: -1, choices: [] };

const OPTION_TYPES = { 3: "text", 4: "whole number", 5: "true/false", 10: "number" };

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `the sandbox answered ${response.status}`);
  return answer;
}

// ---- rendering ------------------------------------------------------------------------------

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// The subset of Discord's markdown the bot writes: **bold**, `code`, mentions, channels, escapes, links.
function markdown(text) {
  const escaped = [];
  let html = text.replace(/\\([\\*_~|`<>#[\]])/g, (_, c) => `\u0000${escaped.push(c) - 1}\u0000`);
  html = escapeHtml(html);
  html = html.replace(/`([^`]+)`/g, "<code>$1</code>");
  html = html.replace(/\*\*(.+?)\*\*/gs, "<strong>$1</strong>");
  html = html.replace(/&lt;@!?(\d+)&gt;/g, (_, id) => `<span class="mention">@${escapeHtml(state.world.users[id] || "someone")}</span>`);
  html = html.replace(/&lt;#(\d+)&gt;/g, (_, id) => `<span class="mention">#${id === state.world.channel.id ? escapeHtml(state.world.channel.name) : "channel"}</span>`);
  // A jump link to a message of this channel scrolls to it; others open as links.
  html = html.replace(/https:\/\/discord\.com\/channels\/\d+\/\d+\/(\d+)/g, '<a href="#message-$1">jump to the message</a>');
  html = html.replace(/(?<!href=")(https?:\/\/[^\s<]+)/g, '<a href="$1" target="_blank" rel="noopener">$1</a>');
  return html.replace(/\u0000(\d+)\u0000/g, (_, i) => escapeHtml(escaped[Number(i)]));
}

function renderMessage(message) {
  const element = document.createElement("article");
  element.className = "message" + (message.ephemeral ? " ephemeral" : "");
  element.dataset.id = message.id;
  element.id = `message-${message.id}`;
  const meta = document.createElement("div");
  meta.className = "meta";
  const asked = message.command ? ` — ${escapeHtml(message.asked_by)} used /${escapeHtml(message.command)}` : "";
  meta.innerHTML = `<span class="author">${escapeHtml(message.author.username)}</span>` +
    (message.author.bot ? '<span class="bot-tag">BOT</span>' : "") + asked;
  element.append(meta);
  const content = document.createElement("div");
  content.className = "content";
  if (message.loading) {
    content.innerHTML = `<span class="thinking">${escapeHtml(message.author.username)} is thinking…</span>`;
  } else {
    content.innerHTML = markdown(message.content || "");
  }
  element.append(content);
  if (message.attachments.length) {
    const attachments = document.createElement("div");
    attachments.className = "attachments";
    for (const file of message.attachments) {
      const image = document.createElement("img");
      image.src = new URL(file.url).pathname;  // same server, whatever address the page was opened at
      image.alt = file.filename;
      // The embedded model draws 64 px images: show small ones at twice their size, pixel for pixel.
      image.addEventListener("load", () => {
        if (image.naturalWidth <= 256) image.style.width = `${image.naturalWidth * 2}px`;
      });
      attachments.append(image);
    }
    element.append(attachments);
  }
  for (const row of message.components || []) {
    const buttons = document.createElement("div");
    buttons.className = "row";
    for (const component of row.components || []) {
      if (component.type !== 2 || !component.custom_id) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = [component.emoji?.name, component.label].filter(Boolean).join(" ");
      button.title = component.custom_id;
      if (component.style === 4) button.classList.add("danger");
      button.addEventListener("click", () => press(message.id, component.custom_id, button));
      buttons.append(button);
    }
    element.append(buttons);
  }
  if (message.ephemeral) {
    const note = document.createElement("div");
    note.className = "note";
    note.textContent = "Only you can see this";
    element.append(note);
  }
  return element;
}

function show(message) {
  const list = $("#messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const existing = list.querySelector(`[data-id="${message.id}"]`);
  if (message.deleted) {
    existing?.remove();
    state.messages.delete(message.id);
    return;
  }
  state.messages.set(message.id, message);
  const element = renderMessage(message);
  if (existing) existing.replaceWith(element);
  else list.append(element);
  if (atBottom || !existing) list.scrollTop = list.scrollHeight;
}

function systemNote(text) {
  const element = document.createElement("div");
  element.className = "message system";
  element.textContent = text;
  $("#messages").append(element);
  $("#messages").scrollTop = $("#messages").scrollHeight;
}

// ---- what the member does -------------------------------------------------------------------

async function press(messageId, customId, button) {
  button.disabled = true;
  try {
    await api("/sandbox/press", { member: state.member, message: messageId, custom_id: customId });
  } catch (error) {
    systemNote(`Could not press that button: ${error.message}`);
  } finally {
    setTimeout(() => { button.disabled = false; }, 800);
  }
}

function commandNamed(name) {
  return state.world.commands.find((command) => command.name === name);
}

// "/imagine a fox --ar 3:2" or "/reproduce job:abc image:2", as Discord's own box reads them.
function parseCommand(text) {
  const match = text.match(/^\/(\S+)\s*([\s\S]*)$/);
  if (!match) return { error: "Commands start with /, e.g. /imagine a red circle on a blue background" };
  const command = commandNamed(match[1]);
  if (!command) return { error: `/${match[1]} is not one of the bot's commands` };
  const rest = match[2].trim();
  const options = {};
  const names = command.options.map((option) => option.name);
  const keyed = names.length ? [...rest.matchAll(new RegExp(`(?:^|\\s)(${names.join("|")}):`, "g"))] : [];
  if (keyed.length === 0) {
    if (rest && !command.options.length) return { error: `/${command.name} takes no options` };
    if (rest) options[command.options[0].name] = rest;
  } else {
    if (rest.slice(0, keyed[0].index).trim()) return { error: `Write /${command.name}'s options as name:value` };
    keyed.forEach((found, i) => {
      const end = i + 1 < keyed.length ? keyed[i + 1].index : rest.length;
      options[found[1]] = rest.slice(found.index + found[0].length, end).trim();
    });
  }
  for (const option of command.options) {
    const value = options[option.name];
    if (value === undefined || value === "") {
      if (option.required) return { error: `/${command.name} needs ${option.name}: ${option.description}` };
      delete options[option.name];
    } else if (option.type === 4 || option.type === 10) {
      options[option.name] = Number(value);
      if (!Number.isFinite(options[option.name])) return { error: `${option.name} must be a number` };
    } else if (option.type === 5) {
      options[option.name] = /^(true|yes|on|1)$/i.test(value);
    }
  }
  return { name: command.name, options };
}

async function submit(event) {
  event.preventDefault();
  if (!$("#suggestions").hidden && state.selected >= 0) return acceptSuggestion();
  const text = $("#input").value.trim();
  if (!text) return;
  const parsed = parseCommand(text);
  if (parsed.error) return systemNote(parsed.error);
  $("#input").value = "";
  hideSuggestions();
  try {
    await api("/sandbox/command", { member: state.member, name: parsed.name, options: parsed.options });
  } catch (error) {
    systemNote(`Could not send that: ${error.message}`);
  }
}

// ---- the command list under "/" -------------------------------------------------------------

function updateSuggestions() {
  const text = $("#input").value;
  const match = text.match(/^\/(\S*)$/);
  const typed = text.match(/^\/(\S+)\s/);
  const box = $("#suggestions");
  if (match) {
    state.choices = state.world.commands.filter((command) => command.name.startsWith(match[1]));
  } else if (typed && commandNamed(typed[1])) {
    state.choices = [commandNamed(typed[1])];
  } else {
    return hideSuggestions();
  }
  if (!state.choices.length) return hideSuggestions();
  box.innerHTML = "";
  state.choices.forEach((command, i) => {
    const item = document.createElement("li");
    item.role = "option";
    item.id = `suggestion-${i}`;
    item.setAttribute("aria-selected", String(i === state.selected));
    const options = command.options.map((option) =>
      `${option.required ? "" : "["}${option.name}: ${OPTION_TYPES[option.type] || "value"}${option.required ? "" : "]"}`);
    item.innerHTML = `<span class="name">/${escapeHtml(command.name)}</span>` +
      `<span class="description">${escapeHtml(command.description)}</span>` +
      (options.length ? `<span class="options">${escapeHtml(options.join("  "))}</span>` : "");
    item.addEventListener("mousedown", (event) => { event.preventDefault(); state.selected = i; acceptSuggestion(); });
    box.append(item);
  });
  box.hidden = false;
}

function hideSuggestions() {
  $("#suggestions").hidden = true;
  state.selected = -1;
  state.choices = [];
}

function acceptSuggestion() {
  const command = state.choices[state.selected];
  if (command) $("#input").value = `/${command.name} `;
  hideSuggestions();
  $("#input").focus();
}

function keys(event) {
  if ($("#suggestions").hidden) return;
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    state.selected = (state.selected + step + state.choices.length) % state.choices.length;
    updateSuggestions();
  } else if (event.key === "Tab" && state.choices.length) {
    event.preventDefault();
    if (state.selected < 0) state.selected = 0;
    acceptSuggestion();
  } else if (event.key === "Escape") {
    hideSuggestions();
  }
}

// ---- members and live updates ---------------------------------------------------------------

async function becomeMember(memberId) {
  state.member = memberId;
  localStorage.setItem("sandbox-member", memberId);
  state.messages.clear();
  $("#messages").innerHTML = "";
  for (const message of await api(`/sandbox/messages?member=${memberId}`)) show(message);
  state.socket?.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/sandbox/events?member=${memberId}`);
  socket.addEventListener("message", (event) => {
    const update = JSON.parse(event.data);
    if (update.type === "message") show(update.message);
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
  $("#channel").textContent = state.world.channel.name;
  $("#guild").textContent = state.world.guild;
  const select = $("#member");
  select.innerHTML = "";
  for (const member of state.world.members) {
    const option = new Option(member.name + (member.admin ? " (server admin)" : ""), member.id);
    select.append(option);
  }
  const remembered = localStorage.getItem("sandbox-member");
  select.value = state.world.members.some((m) => m.id === remembered) ? remembered : state.world.members[0].id;
  select.addEventListener("change", () => becomeMember(select.value));
  $("#input").addEventListener("input", () => { state.selected = -1; updateSuggestions(); });
  $("#input").addEventListener("keydown", keys);
  $("#composer").addEventListener("submit", submit);
  await becomeMember(select.value);
  $("#input").focus();
}

start();
