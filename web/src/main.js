// The console's entry: the shell (navigation, sign-out), and the page of the current route. Pages are
// loaded on demand so the dashboard does not wait for the SQL editor, nor the query page for charts.
import './app.css';
import { getToken, setToken } from './api.js';
import { startRouter } from './router.js';

const pages = {
  login: () => import('./pages/login.js'),
  dashboards: () => import('./pages/dashboards.js'),
  dashboard: () => import('./pages/dashboard.js'),
  query: () => import('./pages/query.js'),
  monitor: () => import('./pages/monitor.js'),
};

const TITLES = { login: 'Sign in', dashboards: 'Dashboards', dashboard: 'Dashboard', query: 'Query', monitor: 'Monitor' };

let cleanup = null;
let generation = 0;

// Replaces <main> (attributes included) so nothing of the previous page survives.
function freshMain() {
  const old = document.getElementById('main');
  const main = document.createElement('main');
  main.id = 'main';
  main.tabIndex = -1;
  old.replaceWith(main);
  return main;
}

function markNavigation(page) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    const current = link.dataset.nav === page || (page === 'dashboard' && link.dataset.nav === 'dashboards');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.querySelector('[data-action="sign-out"]').hidden = !getToken();
}

async function show(route, previous) {
  const mine = ++generation;
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
    cleanup = null;
  }
  markNavigation(route.page);
  document.title = `${TITLES[route.page]} · sluice`;
  let module;
  try {
    module = await pages[route.page]();
  } catch (error) {
    const main = freshMain();
    main.textContent = `The page could not be loaded: ${error.message}`;
    return;
  }
  if (mine !== generation) return;
  const main = freshMain();
  const result = module.render(main, route);
  cleanup = typeof result === 'function' ? result : null;
  if (previous && previous.page !== route.page) main.focus({ preventScroll: true });
}

// The skip link must not change the hash (that is the router's): it moves focus to <main> itself.
document.querySelector('.skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  document.getElementById('main').focus();
});

document.querySelector('[data-action="sign-out"]').addEventListener('click', () => {
  setToken('');
  location.hash = '#/login';
});

startRouter((route, previous) => {
  show(route, previous);
});
