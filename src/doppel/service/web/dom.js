// Building and finding the page's elements, the notice line, and the "page loaded" mark: shared by every page.

export const $ = (selector, root = document) => root.querySelector(selector);

// el('li', {class: 'x', text: 'hi', 'aria-label': '...'}, child, ...): attributes, then children.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svgEl(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.setAttribute('class', value);
    else if (key === 'hidden') node.hidden = Boolean(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
}

export function fillFacts(dl, pairs) {
  dl.replaceChildren();
  for (const [term, value] of pairs) {
    if (value === undefined) continue;
    const dd = el('dd');
    if (value instanceof Node) dd.append(value); else dd.textContent = value === null ? '—' : String(value);
    dl.append(el('dt', { text: term }), dd);
  }
}

// -- notices --------------------------------------------------------------------------------------

let noticeTimer = null;
export function notice(text, { error = false, keep = false } = {}) {
  const box = $('#notice');
  box.textContent = text;
  box.classList.toggle('error', error);
  box.hidden = !text;
  clearTimeout(noticeTimer);
  if (text && !keep) noticeTimer = setTimeout(() => { box.hidden = true; }, error ? 12000 : 5000);
}

// A page marks itself loaded once its first data is on screen (scripts and tests can wait on it).
export const loaded = (name) => { $(`#page-${name}`).dataset.loaded = 'true'; };
