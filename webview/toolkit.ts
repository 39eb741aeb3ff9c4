// The only module that knows the UI toolkit (@vscode/webview-ui-toolkit, deprecated upstream):
// the views ask it for buttons, tabs, a text field and a dropdown as plain elements, so replacing
// the toolkit (say by @vscode-elements/elements) is a change to this file alone.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDropdown,
  vsCodeOption,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
  vsCodeProgressRing,
  vsCodeTextField,
  type Dropdown,
  type Panels,
  type TextField,
} from "@vscode/webview-ui-toolkit";

let registered = false;

/** Defines the toolkit's custom elements (once). */
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodePanels(), vsCodePanelTab(), vsCodePanelView(), vsCodeProgressRing(), vsCodeTextField());
}

export interface ButtonOptions {
  appearance?: "primary" | "secondary";
  title?: string;
  /** A test-friendly handle ("export-gunicorn"). */
  name?: string;
}

export function button(label: string, onClick: () => void, options: ButtonOptions = {}): HTMLElement {
  const element = document.createElement("vscode-button");
  element.textContent = label;
  element.setAttribute("appearance", options.appearance ?? "secondary");
  if (options.title) element.title = options.title;
  if (options.name) element.dataset.name = options.name;
  element.addEventListener("click", onClick);
  return element;
}

export interface TabItem<Id extends string> {
  id: Id;
  title: string;
  panel: HTMLElement;
}

export interface TabsHandle<Id extends string> {
  element: HTMLElement;
  select(id: Id): void;
}

/** Tabs over panels; onSelect hears the user's choice (not select()'s). */
export function tabs<Id extends string>(items: readonly TabItem<Id>[], onSelect: (id: Id) => void): TabsHandle<Id> {
  const panels = document.createElement("vscode-panels") as Panels;
  for (const item of items) {
    const tab = document.createElement("vscode-panel-tab");
    tab.id = `tab-${item.id}`;
    tab.textContent = item.title;
    panels.append(tab);
  }
  for (const item of items) {
    const view = document.createElement("vscode-panel-view");
    view.id = `view-${item.id}`;
    view.append(item.panel);
    panels.append(view);
  }
  let selected: string | null = null;
  panels.addEventListener("change", (event) => {
    // A dropdown inside a panel sends "change" too, and it bubbles here.
    if (event.target !== panels) return;
    const id = items.find((item) => `tab-${item.id}` === panels.activeid)?.id;
    if (id !== undefined && id !== selected) {
      selected = id;
      onSelect(id);
    }
  });
  return {
    element: panels,
    select(id) {
      selected = id;
      panels.setAttribute("activeid", `tab-${id}`);
    },
  };
}

export interface TextFieldHandle {
  element: HTMLElement;
  value(): string;
  setValue(value: string): void;
}

export function textField(options: { label: string; placeholder?: string; name?: string; onEnter?: () => void }): TextFieldHandle {
  const field = document.createElement("vscode-text-field") as TextField;
  field.textContent = options.label;
  if (options.placeholder) field.setAttribute("placeholder", options.placeholder);
  if (options.name) field.dataset.name = options.name;
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter") options.onEnter?.();
  });
  return {
    element: field,
    value: () => field.value ?? "",
    setValue: (value) => {
      field.value = value;
    },
  };
}

export interface DropdownHandle<Value extends string> {
  element: HTMLElement;
  setValue(value: Value): void;
}

export function dropdown<Value extends string>(choices: readonly { value: Value; label: string }[], onChange: (value: Value) => void, name?: string): DropdownHandle<Value> {
  const select = document.createElement("vscode-dropdown") as Dropdown;
  if (name) select.dataset.name = name;
  for (const choice of choices) {
    const option = document.createElement("vscode-option");
    option.setAttribute("value", choice.value);
    option.textContent = choice.label;
    select.append(option);
  }
  select.addEventListener("change", () => {
    const choice = choices.find((c) => c.value === select.value);
    if (choice) onChange(choice.value);
  });
  return {
    element: select,
    setValue: (value) => {
      select.value = value;
    },
  };
}

/** An indeterminate progress ring (a recommendation being computed). */
export function spinner(): HTMLElement {
  return document.createElement("vscode-progress-ring");
}
