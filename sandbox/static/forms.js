// Forms (modals) the bot opens in answer to a command, press or choice — text inputs with their pre-filled
// values and limits, labelled select menus — and the select menus messages carry.

import { $, api, state, systemNote } from "./common.js";

// What a command, press or choice came back with: a form to fill in, or nothing.
export function answered(answer, what) {
  if (answer.form) openForm(answer.form);
  else if (!answer.answered) systemNote(`The bot did not answer that ${what} in time (Discord: "This interaction failed").`);
}

// A select menu (component type 3): one choice is sent as soon as it is made; several, with Choose.
export function selectControl(component) {
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
export function choiceProblem(component, values) {
  const low = component.min_values ?? 1, high = component.max_values ?? 1;
  if (values.length >= low && values.length <= high) return null;
  return low === high ? `Choose ${low}.` : `Choose ${low} to ${high}.`;
}

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

export function openForm(form) {
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

export async function submitForm(event) {
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
