// The daemon's JSON API (README "HTTP API"): fetch with the bearer token from sessionStorage, JSON in
// and out, errors as ApiError carrying the server's one-line message. A 401 sends the app to #/login.

const TOKEN_KEY = 'sluice.token';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const result = { ...extra };
  const token = getToken();
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

function onUnauthorized() {
  if (!location.hash.startsWith('#/login')) {
    sessionStorage.setItem('sluice.after-login', location.hash || '#/dashboards');
    location.hash = '#/login';
  }
}

// The raw Response of METHOD path (relative to the origin), after the 401 check. `body` (an object)
// is sent as JSON. `signal` aborts it (the server then cancels the query behind it).
export async function request(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (response.status === 401) {
    onUnauthorized();
    throw new ApiError(401, 'sign in with the token to use the API', null);
  }
  return response;
}

// The JSON answer of METHOD path; throws ApiError with the server's {"error"} text on a 4xx/5xx.
export async function api(path, options = {}) {
  const response = await request(path, options);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = (body && body.error) || text.trim() || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message, body);
  }
  return body;
}

// The text answer of GET path (CSV); throws ApiError as api().
export async function apiText(path, options = {}) {
  const response = await request(path, options);
  const text = await response.text();
  if (!response.ok) {
    let message = text.trim();
    try {
      message = JSON.parse(text).error || message;
    } catch {
      // not JSON: keep the text
    }
    throw new ApiError(response.status, message || `${response.status}`, null);
  }
  return text;
}

// Whether `error` is the AbortError of a cancelled fetch.
export function isAbort(error) {
  return error && error.name === 'AbortError';
}

// Path segment escaping.
export const seg = (value) => encodeURIComponent(value);
