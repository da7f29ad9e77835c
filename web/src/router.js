// Hash routing: #/login, #/dashboards, #/dashboards/NAME[/SHEET], #/query, #/monitor. A page module
// exports render(main, route) and may return a cleanup function, called when the route changes.

// The route named by `hash`: {page, params}.
export function parseHash(hash) {
  const parts = hash.replace(/^#\/?/, '').split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const [page = '', ...rest] = parts;
  switch (page) {
    case 'login':
      return { page: 'login', params: {} };
    case 'query':
      return { page: 'query', params: {} };
    case 'monitor':
      return { page: 'monitor', params: {} };
    case 'dashboards':
      if (rest[0]) return { page: 'dashboard', params: { name: rest[0], sheet: Number(rest[1] || 0) || 0 } };
      return { page: 'dashboards', params: {} };
    default:
      return { page: 'dashboards', params: {} };
  }
}

// Calls `onRoute(route, previousRoute)` now and at every hash change.
export function startRouter(onRoute) {
  let previous = null;
  const go = () => {
    const route = parseHash(location.hash);
    onRoute(route, previous);
    previous = route;
  };
  window.addEventListener('hashchange', go);
  go();
}
