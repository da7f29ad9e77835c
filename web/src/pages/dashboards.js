// #/dashboards: the pipeline's dashboards.
import { api } from '../api.js';
import { el } from '../dom.js';

export function render(main) {
  main.dataset.page = 'dashboards';
  const list = el('ul', { class: 'dashboard-list', 'aria-busy': 'true' });
  main.append(el('h1', { text: 'Dashboards' }), list);
  const controller = new AbortController();
  api('/v1/dashboards', { signal: controller.signal })
    .then((dashboards) => {
      list.removeAttribute('aria-busy');
      if (!dashboards.length) {
        list.append(el('li', { text: 'This pipeline declares no dashboards (a dashboards: section in its file).' }));
      }
      for (const d of dashboards) {
        list.append(
          el(
            'li',
            { 'data-dashboard': d.name },
            el('a', { href: `#/dashboards/${encodeURIComponent(d.name)}`, text: d.title || d.name }),
            el('span', { class: 'muted', text: ` ${d.sheets} sheet${d.sheets === 1 ? '' : 's'}, ${d.visuals} visual${d.visuals === 1 ? '' : 's'}` }),
          ),
        );
      }
    })
    .catch((error) => {
      if (error.name === 'AbortError') return;
      list.removeAttribute('aria-busy');
      list.append(el('li', { class: 'error-text', text: `Could not list the dashboards: ${error.message}` }));
    });
  return () => controller.abort();
}
