// Small DOM helpers shared by the pages.

// Fails loudly when the HTML and the script disagree, instead of a null
// creeping through the page logic.
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
    const el = document.getElementById(id);
    if (!(el instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
    return el;
}

// Screen readers stay silent when a live region gets the same text again, so
// clear it first and set the text a moment later.
export function announce(region: HTMLElement, text: string, isError = false): void {
    region.textContent = '';
    region.classList.toggle('error', isError);
    window.setTimeout(() => { region.textContent = text; }, 50);
}
