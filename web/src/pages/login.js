// #/login: the token form. The token goes to sessionStorage only (never into a URL).
import { api, ApiError, setToken } from '../api.js';
import { el } from '../dom.js';

export function render(main) {
  main.dataset.page = 'login';
  const input = el('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true });
  const error = el('p', { class: 'form-error', role: 'alert' });
  const form = el(
    'form',
    { id: 'login-form', class: 'login-form', method: 'post', action: '#/login' },
    el('h1', { text: 'Sign in' }),
    el('p', { text: 'This sluice daemon asks for its API token (the value of server.auth.token_env).' }),
    el('label', { for: 'token', text: 'Token' }),
    input,
    el('button', { type: 'submit', class: 'primary', text: 'Sign in' }),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    setToken(input.value.trim());
    try {
      await api('/v1/status');
      input.value = '';
      const next = sessionStorage.getItem('sluice.after-login') || '#/dashboards';
      sessionStorage.removeItem('sluice.after-login');
      location.hash = next.startsWith('#/login') ? '#/dashboards' : next;
    } catch (e) {
      setToken('');
      error.textContent = e instanceof ApiError && e.status === 401 ? 'That token was refused.' : e.message;
      input.focus();
    }
  });
  main.append(form);
  input.focus();
}
