// The messages of the channel or of the member's DMs: text, images, buttons and menus, and what pressing or
// choosing in them sends.

import { $, api, escapeHtml, state, systemNote } from "./common.js";
import { answered, choiceProblem, selectControl } from "./forms.js";

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

export function show(message) {
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
