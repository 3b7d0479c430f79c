// The message box: "/" lists the bot's commands, the text after a command's name fills its options as
// Discord's box reads them, fields below the box take the others (files are uploaded first), and Send sends it.

import { $, answerOf, api, escapeHtml, state, systemNote } from "./common.js";
import { answered } from "./forms.js";

const OPTION_TYPES = { 3: "text", 4: "whole number", 5: "true/false", 10: "number", 11: "image file" };
const ATTACHMENT = 11;

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

export async function submit(event) {
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
export function updateOptions() {
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

export function updateSuggestions() {
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

export function hideSuggestions() {
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

export function keys(event) {
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
