// The catalog tree: databases → tables → columns with types, partitions and schema versions (the
// last two fetched when a table is opened). Also hands the editor its completion schema.
import { api, isAbort, seg } from '../api.js';
import { el, formatBytes, formatTime } from '../dom.js';

export function createCatalogTree({ signal, onSchema }) {
  const root = el('div', { class: 'catalog-tree', 'aria-busy': 'true' });
  load().catch((error) => {
    if (isAbort(error)) return;
    root.removeAttribute('aria-busy');
    root.replaceChildren(el('p', { class: 'error-text', text: `Catalog unavailable: ${error.message}` }));
  });

  async function load() {
    const databases = await api('/v1/catalog/databases', { signal });
    const schema = {};
    const nodes = await Promise.all(databases.map(async (db) => {
      const name = typeof db === 'string' ? db : db.name;
      const tables = await api(`/v1/catalog/databases/${seg(name)}/tables`, { signal });
      for (const t of tables) {
        const columns = (t.columns || []).map((c) => c.name).concat(t.partition_keys || []);
        schema[`${name}.${t.name}`] = columns;
        if (!schema[t.name]) schema[t.name] = columns;
      }
      return el('details', { 'data-database': name, open: databases.length <= 3 },
        el('summary', { text: name }),
        el('ul', {}, tables.map((t) => el('li', {}, tableNode(name, t)))));
    }));
    root.removeAttribute('aria-busy');
    root.replaceChildren(...nodes);
    if (!nodes.length) root.append(el('p', { class: 'muted', text: 'No databases yet: a crawler creates them.' }));
    onSchema(schema, databases.map((d) => (typeof d === 'string' ? d : d.name)));
  }

  function tableNode(db, t) {
    const extra = el('div', { class: 'table-extra' });
    const details = el('details', { 'data-table': `${db}.${t.name}` },
      el('summary', { text: t.name }),
      el('ul', { class: 'columns' }, (t.columns || []).map((c) => el('li', { 'data-column': c.name },
        el('span', { class: 'column-name', text: c.name }), ' ', el('span', { class: 'column-type', text: c.type })))),
      (t.partition_keys || []).length ? el('p', { class: 'muted', text: `partitioned by ${t.partition_keys.join(', ')}` }) : null,
      extra);
    let loaded = false;
    details.addEventListener('toggle', async () => {
      if (!details.open || loaded) return;
      loaded = true;
      extra.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
      try {
        const full = await api(`/v1/catalog/databases/${seg(db)}/tables/${seg(t.name)}`, { signal });
        extra.replaceChildren(
          el('p', { class: 'muted', text: `${full.format || ''} · version ${full.version} · updated ${formatTime(full.updated)}` }),
          el('details', { class: 'partitions' }, el('summary', { text: `Partitions (${(full.partitions || []).length})` }),
            el('ul', {}, (full.partitions || []).slice(0, 200).map((p) => el('li', { 'data-partition': (p.values || []).join('/') },
              `${(p.values || []).join(' / ')} · ${p.files} files · ${formatBytes(p.bytes)}`)))),
          el('details', { class: 'versions' }, el('summary', { text: `Schema versions (${(full.versions || []).length})` }),
            el('ul', {}, (full.versions || []).map((v) => el('li', { 'data-version': v.version },
              `v${v.version} · ${formatTime(v.time)} · ${(v.columns || []).length} columns${v.changes && v.changes.length ? ` · ${[].concat(v.changes).map((c) => (typeof c === 'string' ? c : JSON.stringify(c))).join('; ')}` : ''}`)))),
        );
      } catch (error) {
        loaded = false;
        if (!isAbort(error)) extra.replaceChildren(el('p', { class: 'error-text', text: error.message }));
      }
    });
    return details;
  }

  return { root };
}
