// Tiny DOM helpers: build elements without innerHTML (user text is always set as text).

/** h('button', { onclick, class: 'x' }, 'text', child…) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** A form whose submit handler gets the named fields' values; shows an ApiError under the form. */
export function form(fields, submitLabel, onSubmit, attrs = {}) {
  const error = h('p', { class: 'error', role: 'alert' });
  const el = h('form', attrs, fields, h('button', { type: 'submit' }, submitLabel), error);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    const values = Object.fromEntries(new FormData(el).entries());
    try {
      await onSubmit(values, el);
    } catch (err) {
      const fieldErrors = (err.errors ?? []).map((x) => `${x.path}: ${x.message}`).join('; ');
      error.textContent = fieldErrors ? `${err.message} (${fieldErrors})` : err.message;
    }
  });
  return el;
}

export const field = (label, name, attrs = {}) =>
  h(
    'label',
    {},
    label,
    attrs.type === 'textarea' ? h('textarea', { name, ...attrs, type: null }) : h('input', { name, ...attrs }),
  );

export const select = (label, name, options, attrs = {}) =>
  h(
    'label',
    {},
    label,
    h(
      'select',
      { name, ...attrs },
      options.map(([v, text]) => h('option', { value: v }, text ?? v)),
    ),
  );

export const when = (iso) => new Date(iso).toLocaleString();

export const won = (n) => `₩${Number(n).toLocaleString()}`;

/** Today (or today + days) as YYYY-MM-DD in the browser's zone. */
export function day(plus = 0) {
  const d = new Date(Date.now() + plus * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** `view.append` for page contents: lists are spread, and null/false (a part left out) is skipped. */
export function put(view, ...children) {
  view.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}
