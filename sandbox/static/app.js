// The sandbox page: one channel of the emulated Discord, and each member's direct messages with the bot,
// as the chosen member sees them. Commands, button presses, menu choices and forms go to the real bot
// through the emulator; every change comes back over a WebSocket. Plain JavaScript, no build step,
// nothing from the network.

const $ = (selector) => document.querySelector(selector);
const state = {
  world: null, member: null, place: "channel", messages: new Map(), socket: null, selected: -1, choices: [],
  form: null, sending: false, loads: 0,
};

const OPTION_TYPES = { 3: "text", 4: "whole number", 5: "true/false", 10: "number", 11: "image file" };
const ATTACHMENT = 11;

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  return answerOf(response);
}

async function answerOf(response) {
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error || `the sandbox answered ${response.status}`);
  return answer;
}

// What a command, press or choice came back with: a form to fill in, or nothing.
function answered(answer, what) {
  if (answer.form) openForm(answer.form);
  else if (!answer.answered) systemNote(`The bot did not answer that ${what} in time (Discord: "This interaction failed").`);
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
  // A jump link to a message of this channel or of the member's DMs scrolls to it; others open as links.
  html = html.replace(/https:\/\/discord\.com\/channels\/(\d+|@me)\/\d+\/(\d+)/g, (_, guild, id) =>
    `<a href="#message-${id}" data-place="${guild === "@me" ? "dm" : "channel"}">jump to the message</a>`);
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
      if (component.type === 3 && component.custom_id) {
        buttons.append(messageMenu(message, component));
        continue;
      }
      if (component.type !== 2 || !component.custom_id) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = [component.emoji?.name, component.label].filter(Boolean).join(" ");
      button.title = component.custom_id;
      button.disabled = Boolean(component.disabled);
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

// A select menu (component type 3): one choice is sent as soon as it is made; several, with Choose.
function selectControl(component) {
  const multiple = (component.max_values ?? 1) > 1;
  const options = component.options || [];
  if (!multiple) {
    const select = document.createElement("select");
    const placeholder = new Option(component.placeholder || "Make a selection", "");
    placeholder.disabled = true;
    select.append(placeholder);
    for (const option of options) select.append(new Option(option.label, option.value, false, Boolean(option.default)));
    if (!options.some((option) => option.default)) select.value = "";
    select.required = (component.min_values ?? 1) > 0;
    select.disabled = Boolean(component.disabled);
    return { element: select, values: () => (select.value ? [select.value] : []) };
  }
  const group = document.createElement("div");
  group.className = "choices";
  group.setAttribute("role", "group");
  if (component.placeholder) group.setAttribute("aria-label", component.placeholder);
  for (const option of options) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = option.value;
    box.checked = Boolean(option.default);
    box.disabled = Boolean(component.disabled);
    label.append(box, ` ${option.label}`);
    if (option.description) label.title = option.description;
    group.append(label);
  }
  const values = () => [...group.querySelectorAll("input:checked")].map((box) => box.value);
  return { element: group, values };
}

// Discord's limits on how many of a menu's options go back: an error to show, or null.
function choiceProblem(component, values) {
  const low = component.min_values ?? 1, high = component.max_values ?? 1;
  if (values.length >= low && values.length <= high) return null;
  return low === high ? `Choose ${low}.` : `Choose ${low} to ${high}.`;
}

function messageMenu(message, component) {
  const control = selectControl(component);
  const send = () => choose(message.id, component, control.values(), control.element);
  if ((component.max_values ?? 1) <= 1) {
    control.element.addEventListener("change", send);
    return control.element;
  }
  const wrapper = document.createElement("div");
  wrapper.className = "menu";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Choose";
  button.disabled = Boolean(component.disabled);
  button.addEventListener("click", send);
  wrapper.append(control.element, button);
  return wrapper;
}

function show(message) {
  const list = $("#messages");
  list.querySelector(".empty")?.remove();
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

// A jump link to the other place (a receipt in the channel for a job posted in DMs) goes there first.
async function jump(event) {
  const link = event.target.closest("a[data-place]");
  if (!link || link.dataset.place === state.place) return;
  event.preventDefault();
  await showPlace(link.dataset.place);
  document.querySelector(link.getAttribute("href"))?.scrollIntoView();
}

async function press(messageId, customId, button) {
  button.disabled = true;
  try {
    answered(await api("/sandbox/press", { member: state.member, message: messageId, custom_id: customId }), "press");
  } catch (error) {
    systemNote(`Could not press that button: ${error.message}`);
  } finally {
    setTimeout(() => { button.disabled = false; }, 800);
  }
}

async function choose(messageId, component, values, control) {
  const problem = choiceProblem(component, values);
  if (problem) return systemNote(problem);
  control.classList.add("busy");
  try {
    const body = { member: state.member, message: messageId, custom_id: component.custom_id, values };
    answered(await api("/sandbox/choose", body), "choice");
  } catch (error) {
    systemNote(`Could not choose that: ${error.message}`);
  } finally {
    control.classList.remove("busy");
  }
}

function commandNamed(name) {
  return state.world.commands.find((command) => command.name === name);
}

// The option that text after the command's name fills, as in "/imagine a fox": its first free-text one.
function mainOption(command) {
  return command.options.find((option) => option.type === 3 && !option.choices);
}

// An option's value from what the member typed or picked, as Discord's box checks it: { value } or { error }.
function optionValue(option, text) {
  const name = option.name;
  if (option.type === ATTACHMENT) return { error: `Attach ${name} with its file picker below the box` };
  if (option.choices) {
    const lower = text.toLowerCase();
    const choice = option.choices.find((c) => String(c.value) === text || c.name.toLowerCase() === lower);
    if (!choice) return { error: `${name} is one of: ${option.choices.map((c) => c.value).join(", ")}` };
    return { value: choice.value };
  }
  if (option.type === 5) {
    if (/^(true|yes|on|1)$/i.test(text)) return { value: true };
    if (/^(false|no|off|0)$/i.test(text)) return { value: false };
    return { error: `${name} is true or false` };
  }
  if (option.type === 4 || option.type === 10) {
    const number = Number(text);
    if (!Number.isFinite(number) || (option.type === 4 && !Number.isInteger(number))) {
      return { error: `${name} must be a ${option.type === 4 ? "whole " : ""}number` };
    }
    const low = option.min_value ?? -Infinity, high = option.max_value ?? Infinity;
    if (number < low || number > high) return { error: `${name} must be from ${option.min_value} to ${option.max_value}` };
    return { value: number };
  }
  if (text.length > (option.max_length ?? Infinity)) return { error: `${name} takes at most ${option.max_length} characters` };
  return { value: text };
}

// "/imagine a fox --ar 3:2" or "/reproduce job:abc image:2", as Discord's own box reads them.
function parseCommand(text) {
  const match = text.match(/^\/(\S+)\s*([\s\S]*)$/);
  if (!match) return { error: "Commands start with /, e.g. /imagine a red circle on a blue background" };
  const command = commandNamed(match[1]);
  if (!command) return { error: `/${match[1]} is not one of the bot's commands` };
  const rest = match[2].trim();
  const typed = {};
  const names = command.options.map((option) => option.name);
  const keyed = names.length ? [...rest.matchAll(new RegExp(`(?:^|\\s)(${names.join("|")}):`, "g"))] : [];
  if (keyed.length === 0) {
    const main = mainOption(command);
    if (rest && !command.options.length) return { error: `/${command.name} takes no options` };
    if (rest && !main) return { error: `Write /${command.name}'s options as name:value, or use the fields below` };
    if (rest) typed[main.name] = rest;
  } else {
    if (rest.slice(0, keyed[0].index).trim()) return { error: `Write /${command.name}'s options as name:value` };
    keyed.forEach((found, i) => {
      const end = i + 1 < keyed.length ? keyed[i + 1].index : rest.length;
      typed[found[1]] = rest.slice(found.index + found[0].length, end).trim();
    });
  }
  const options = {};
  for (const option of command.options) {
    if (!typed[option.name]) continue;
    const checked = optionValue(option, typed[option.name]);
    if (checked.error) return checked;
    options[option.name] = checked.value;
  }
  return { command, options };
}

// The fields below the box, for what the typed text leaves out: typed name:value wins. Files are uploaded
// by the caller. Returns { options, files } or { error }.
function fieldValues(command, typed) {
  const options = { ...typed }, files = {};
  for (const field of $("#options").querySelectorAll("[data-option]")) {
    const option = command.options.find((o) => o.name === field.dataset.option);
    if (!option || option.name in options) continue;
    if (option.type === ATTACHMENT) {
      if (field.files.length) files[option.name] = field.files[0];
      continue;
    }
    if (field.value === "") continue;
    const checked = optionValue(option, field.value);
    if (checked.error) return checked;
    options[option.name] = checked.value;
  }
  for (const option of command.options) {
    if (option.required && !(option.name in options) && !(option.name in files)) {
      return { error: `/${command.name} needs ${option.name}: ${option.description}` };
    }
  }
  return { options, files };
}

// Discord's client puts a file on Discord's servers first, then sends the command naming it.
async function upload(file) {
  const limit = state.world.attachment_limit;
  if (file.size > limit) throw new Error(`${file.name} is larger than ${limit / 1024 / 1024} MB`);
  const query = `member=${state.member}&filename=${encodeURIComponent(file.name)}`;
  const response = await fetch(`/sandbox/upload?${query}`, {
    method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file,
  });
  return (await answerOf(response)).id;
}

async function submit(event) {
  event.preventDefault();
  if (!$("#suggestions").hidden && state.selected >= 0) return acceptSuggestion();
  const text = $("#input").value.trim();
  if (!text || state.sending) return;
  const parsed = parseCommand(text);
  if (parsed.error) return systemNote(parsed.error);
  const given = fieldValues(parsed.command, parsed.options);
  if (given.error) return systemNote(given.error);
  state.sending = true;
  try {
    for (const [name, file] of Object.entries(given.files)) given.options[name] = await upload(file);
    $("#input").value = "";
    hideSuggestions();
    updateOptions();
    const body = { member: state.member, name: parsed.command.name, options: given.options };
    answered(await api("/sandbox/command", body), "command");
  } catch (error) {
    systemNote(`Could not send that: ${error.message}`);
  } finally {
    state.sending = false;
  }
}

// ---- the fields below the box, for a command's other options ------------------------------------

function optionField(option) {
  let field;
  if (option.type === ATTACHMENT) {
    field = document.createElement("input");
    field.type = "file";
    field.accept = "image/png,image/jpeg,image/webp,image/gif";
  } else if (option.choices || option.type === 5) {
    field = document.createElement("select");
    field.append(new Option("—", ""));
    const choices = option.choices || [{ name: "true", value: "true" }, { name: "false", value: "false" }];
    for (const choice of choices) field.append(new Option(choice.name, String(choice.value)));
  } else {
    field = document.createElement("input");
    field.type = option.type === 3 ? "text" : "number";
    if (option.type !== 3) field.step = option.type === 4 ? "1" : "any";
    if (option.min_value !== undefined) field.min = option.min_value;
    if (option.max_value !== undefined) field.max = option.max_value;
    if (option.max_length !== undefined) field.maxLength = option.max_length;
    field.placeholder = OPTION_TYPES[option.type];
  }
  field.dataset.option = option.name;
  field.title = option.description;
  const label = document.createElement("label");
  const name = document.createElement("span");
  name.textContent = option.name + (option.required ? " *" : "");
  label.append(name, field);
  return label;
}

// Shown while the box holds a command with options the text does not fill; kept while the member types.
function updateOptions() {
  const typed = $("#input").value.match(/^\/(\S+)\s/);
  const command = typed && commandNamed(typed[1]);
  const panel = $("#options");
  const main = command && mainOption(command);
  const fields = command ? command.options.filter((option) => option !== main) : [];
  if (!fields.length) {
    panel.hidden = true;
    panel.dataset.command = "";
    panel.replaceChildren();
    return;
  }
  if (panel.dataset.command === command.name) return;
  panel.dataset.command = command.name;
  const title = document.createElement("span");
  title.className = "title";
  title.textContent = `/${command.name}` + (main ? ` — type ${main.name} in the box; more:` : ":");
  panel.replaceChildren(title, ...fields.map(optionField));
  panel.hidden = false;
}

// ---- forms (modals) the bot opens ----------------------------------------------------------------

function formField(labelText, description, component) {
  const field = document.createElement("div");
  field.className = "field";
  const id = `form-${component.custom_id}`;
  const label = document.createElement("label");
  label.className = "label";
  label.textContent = labelText || component.label || "";
  field.append(label);
  if (description) {
    const note = document.createElement("div");
    note.className = "description";
    note.textContent = description;
    field.append(note);
  }
  let control;
  if (component.type === 4) {
    const input = document.createElement(component.style === 2 ? "textarea" : "input");
    if (component.style === 2) input.rows = 4;
    input.value = component.value || "";
    input.required = component.required ?? true;
    if (component.min_length !== undefined) input.minLength = component.min_length;
    if (component.max_length !== undefined) input.maxLength = component.max_length;
    if (component.placeholder) input.placeholder = component.placeholder;
    control = { element: input, values: () => input.value };
  } else if (component.type === 3) {
    control = selectControl(component);
    const read = control.values;
    control.check = () => choiceProblem(component, read());
  } else {
    return null;  // a component the page does not know: Discord's client would show it, the bot gets it back empty
  }
  control.element.id = id;
  if (control.element.matches("input, textarea, select")) label.htmlFor = id;
  else control.element.setAttribute("aria-label", label.textContent);
  field.append(control.element);
  field.dataset.customId = component.custom_id;
  state.form.controls.push({ customId: component.custom_id, ...control });
  return field;
}

function openForm(form) {
  state.form = { ...form, controls: [] };
  $("#modal-title").textContent = form.title || "";
  const fields = [];
  for (const row of form.components || []) {
    if (row.type === 1) {
      for (const component of row.components || []) fields.push(formField(component.label, null, component));
    } else if (row.type === 18 && row.component) {
      fields.push(formField(row.label, row.description, row.component));
    } else if (row.type === 10) {  // text display
      const text = document.createElement("p");
      text.textContent = row.content || "";
      fields.push(text);
    }
  }
  $("#modal-fields").replaceChildren(...fields.filter(Boolean));
  $("#modal-error").hidden = true;
  const dialog = $("#modal");
  if (!dialog.open) dialog.showModal();
  dialog.querySelector("input, textarea, select")?.focus();
}

function formError(text) {
  $("#modal-error").textContent = text;
  $("#modal-error").hidden = false;
}

async function submitForm(event) {
  event.preventDefault();
  const form = state.form;
  if (!form) return;
  const values = {};
  for (const control of form.controls) {
    const problem = control.check?.();
    if (problem) return formError(problem);
    values[control.customId] = control.values();
  }
  const button = $("#modal-submit");
  button.disabled = true;
  try {
    await api("/sandbox/submit", { member: state.member, interaction: form.interaction, values });
    if (state.form === form) $("#modal").close();
  } catch (error) {
    formError(`Could not send that: ${error.message}`);
  } finally {
    button.disabled = false;
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
  updateOptions();
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
  $("#modal-cancel").addEventListener("click", () => $("#modal").close());  // Discord sends nothing
  $("#modal").addEventListener("close", () => { state.form = null; });
  await becomeMember(select.value);
  $("#input").focus();
}

start();
