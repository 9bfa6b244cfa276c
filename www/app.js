/*
 * paybridge's pages, part one: the helpers every page shares (the token, api(), messages),
 * exported as window.paybridge for www/shop.js (the catalog, payment, orders and
 * subscription pages), and the signup and account pages themselves (www/signup.html,
 * www/account.html): plain DOM, no framework, nothing loaded from elsewhere, no inline
 * script or style (the web servers send a strict Content-Security-Policy). Every page works
 * as HTML first; this file only improves it:
 *
 *  - signup: the form posts itself (form-encoded) to /v1/users without JavaScript and
 *    paybridge answers with a 303 to the account page. With JavaScript the same
 *    form-encoded body goes through fetch, so errors appear next to their fields without a
 *    page load, and the new account is logged in at once (no second password entry).
 *  - account: shows the outcome the signup redirect carried in its query string, logs in
 *    (POST /v1/auth/login, JSON), shows GET /v1/users/me with the Stripe customer id, and
 *    waits a few seconds for that id when Stripe was slow at signup (paybridge then creates
 *    the customer in the background), the caller's subscription (GET /v1/users/me carries
 *    it) and a button to Stripe's billing portal. ?next=/a/page.html returns there after
 *    the login (a path on this site only).
 *
 * Server data is only ever written with textContent, never as HTML.
 */
'use strict';

(function () {
	/*
	 * The access token lives in sessionStorage, mirrored in memory. Memory alone would lose it
	 * on the one navigation it must survive (signup page -> account page) and on a reload;
	 * localStorage would keep it after the tab is closed and share it with every tab.
	 * sessionStorage is per tab and gone when the tab closes, and unlike a cookie the browser
	 * never attaches it to requests by itself, so there is nothing for another site to forge
	 * (CSRF). Any script on this origin can read it, which is why these pages load no
	 * third-party script and never insert server data as HTML; the token also expires by
	 * itself (15 minutes by default). When storage is unavailable (disabled, or a private
	 * mode that refuses it), the token stays in memory only.
	 */
	const TOKEN_KEY = 'paybridge.access_token';
	let memoryToken = null;

	function getToken() {
		try {
			const t = window.sessionStorage.getItem(TOKEN_KEY);
			if (t) {
				memoryToken = t;
			}
		} catch (e) {
			/* storage refused: memory only */
		}
		return memoryToken;
	}

	function setToken(token) {
		memoryToken = token;
		try {
			if (token) {
				window.sessionStorage.setItem(TOKEN_KEY, token);
			} else {
				window.sessionStorage.removeItem(TOKEN_KEY);
			}
		} catch (e) {
			/* storage refused: memory only */
		}
	}

	/* ---- talking to paybridge ---- */

	/*
	 * Sends one request and resolves to {status, ok, body, error, retryAfter}; body is the
	 * parsed JSON envelope or null. A network failure resolves too (status 0), so callers
	 * have a single path for every kind of error.
	 */
	async function api(method, path, opts) {
		const o = opts || {};
		const headers = { Accept: 'application/json' };
		let body;
		if (o.json !== undefined) {
			headers['Content-Type'] = 'application/json';
			body = JSON.stringify(o.json);
		} else if (o.form !== undefined) {
			headers['Content-Type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
			body = o.form.toString();
		}
		if (o.token) {
			headers.Authorization = 'Bearer ' + o.token;
		}
		if (o.idempotencyKey) {
			headers['Idempotency-Key'] = o.idempotencyKey;
		}
		let res;
		try {
			res = await fetch(path, {
				method: method,
				headers: headers,
				body: body,
				credentials: 'omit',
				cache: 'no-store',
			});
		} catch (e) {
			return {
				status: 0, ok: false, body: null, retryAfter: null,
				error: { code: 'network', message: '' },
			};
		}
		let parsed = null;
		if ((res.headers.get('Content-Type') || '').indexOf('json') !== -1) {
			try {
				parsed = await res.json();
			} catch (e) {
				parsed = null;
			}
		}
		const ra = parseInt(res.headers.get('Retry-After') || '', 10);
		let error = null;
		if (!res.ok || !parsed || parsed.success === false) {
			error = (parsed && parsed.error) || { code: 'http_' + res.status, message: '' };
		}
		return {
			status: res.status,
			ok: res.ok && error === null,
			body: parsed,
			error: error,
			retryAfter: Number.isFinite(ra) && ra >= 0 ? ra : null,
		};
	}

	/* Plain-language text for an error code (from the envelope or a redirect's query). */
	function errorText(code, serverMessage, retryAfter) {
		switch (code) {
		case 'email_taken':
			return 'An account with this email address already exists.';
		case 'invalid_fields':
			return 'Some fields need your attention: see the messages next to them.';
		case 'invalid_credentials':
			return 'That email address and password do not match an account.';
		case 'too_many_requests':
		case 'rate_limited':
		case 'http_429':
			return retryAfter
				? 'Too many attempts. Please wait ' + retryAfter +
				  (retryAfter === 1 ? ' second' : ' seconds') + ' and try again.'
				: 'Too many attempts. Please wait a moment and try again.';
		case 'unauthorized':
		case 'token_invalid':
		case 'token_expired':
			return 'Your session has ended. Please log in again.';
		case 'network':
			return 'Could not reach the server. Check your connection and try again.';
		case 'service_unavailable':
		case 'database_unavailable':
		case 'database_busy':
		case 'timeout':
		case 'payment_provider_error':
		case 'bad_gateway':
		case 'gateway_timeout':
		case 'http_502':
		case 'http_503':
		case 'http_504':
			return 'The service is busy or unavailable right now. Please try again shortly.';
		case 'payment_provider_unavailable':
			return 'The payment service is not answering right now. Please try again shortly.';
		case 'not_found':
		case 'http_404':
			return 'That could not be found.';
		case 'payload_too_large':
			return 'What you entered is too long.';
		case 'internal_error':
		case 'http_500':
			return 'Something went wrong on our side. Please try again.';
		default:
			if (serverMessage) {
				return 'Something went wrong: ' + serverMessage + '.';
			}
			return 'Something went wrong (' + code + '). Please try again.';
		}
	}

	/* ---- showing messages ---- */

	function $(id) {
		return document.getElementById(id);
	}

	/*
	 * Fills a notice box (role="alert": screen readers announce it) with one or more
	 * paragraphs; each part is a string or a DOM node (a link).
	 */
	function notify(box, kind, parts, focus) {
		box.textContent = '';
		box.className = 'notice ' + kind;
		for (const line of parts) {
			const p = document.createElement('p');
			for (const piece of Array.isArray(line) ? line : [line]) {
				p.append(piece);
			}
			box.append(p);
		}
		if (focus) {
			box.focus();
		}
	}

	function clearNotice(box) {
		box.textContent = '';
		box.className = 'notice';
	}

	function link(href, text) {
		const a = document.createElement('a');
		a.href = href;
		a.textContent = text;
		return a;
	}

	/* The form's inputs that have an error slot: id "<prefix>-<name>", "<prefix>-<name>-error". */
	function fieldSlots(form, prefix) {
		const slots = {};
		for (const input of form.querySelectorAll('input[name]')) {
			const err = $(prefix + '-' + input.name + '-error');
			if (err) {
				slots[input.name] = { input: input, error: err };
			}
		}
		return slots;
	}

	function clearFieldErrors(form, prefix) {
		for (const s of Object.values(fieldSlots(form, prefix))) {
			s.error.textContent = '';
			s.input.removeAttribute('aria-invalid');
		}
	}

	/*
	 * Puts each message next to its field and marks the field invalid; returns the messages
	 * for fields this form does not have (shown in the summary instead) and focuses the first
	 * invalid field. fields maps a name to a message or a list of messages.
	 */
	function showFieldErrors(form, prefix, fields) {
		const slots = fieldSlots(form, prefix);
		const orphans = [];
		for (const [name, value] of Object.entries(fields || {})) {
			const msg = Array.isArray(value) ? value.join(' ') : String(value);
			const s = slots[name];
			if (!s) {
				orphans.push(name + ': ' + msg);
				continue;
			}
			s.error.textContent = msg;
			s.input.setAttribute('aria-invalid', 'true');
		}
		/* Focus in document order, not in the order the server listed the fields. */
		for (const s of Object.values(slots)) {
			if (s.input.getAttribute('aria-invalid') === 'true') {
				s.input.focus();
				break;
			}
		}
		return orphans;
	}

	function busy(button, on, label) {
		if (on) {
			button.dataset.label = button.textContent;
			button.textContent = label;
			button.disabled = true;
			button.setAttribute('aria-busy', 'true');
		} else {
			button.textContent = button.dataset.label || button.textContent;
			button.disabled = false;
			button.removeAttribute('aria-busy');
		}
	}

	/* ---- signup page ---- */

	function codePoints(s) {
		return Array.from(s).length;
	}

	/* The server checks everything again; these checks only save a round trip. */
	function checkSignup(form) {
		const errors = {};
		const name = form.elements.name.value.trim();
		const email = form.elements.email;
		const password = form.elements.password.value;
		if (name === '') {
			errors.name = 'Enter your name.';
		} else if (codePoints(name) > 200) {
			errors.name = 'Use at most 200 characters.';
		}
		if (email.value.trim() === '') {
			errors.email = 'Enter your email address.';
		} else if (email.validity.typeMismatch) {
			errors.email = 'Enter an email address like name@example.com.';
		}
		if (password === '') {
			errors.password = 'Choose a password.';
		} else if (codePoints(password) < 12) {
			errors.password = 'Use at least 12 characters.';
		} else if (new TextEncoder().encode(password).length > 128) {
			errors.password = 'Use a shorter password (at most 128 bytes).';
		}
		return errors;
	}

	function initSignup() {
		const form = $('signup-form');
		const status = $('signup-status');
		const button = form.querySelector('button[type="submit"]');
		/* This script shows its own messages next to the fields instead of the browser's. */
		form.noValidate = true;
		showQueryOutcome(status);

		form.addEventListener('submit', async function (ev) {
			ev.preventDefault();
			if (button.disabled) {
				return;
			}
			clearNotice(status);
			clearFieldErrors(form, 'signup');
			const local = checkSignup(form);
			if (Object.keys(local).length > 0) {
				notify(status, 'error', ['Some fields need your attention: see the messages next to them.']);
				showFieldErrors(form, 'signup', local);
				return;
			}
			const body = new URLSearchParams();
			body.set('name', form.elements.name.value.trim());
			body.set('email', form.elements.email.value.trim());
			body.set('password', form.elements.password.value);

			busy(button, true, 'Creating account…');
			const r = await api('POST', '/v1/users', { form: body });
			busy(button, false);
			if (r.ok && r.body.data && r.body.data.user) {
				const data = r.body.data;
				if (data.access_token) {
					setToken(data.access_token);
				}
				form.elements.password.value = '';
				window.location.assign('/account.html?signup=ok&user=' +
					encodeURIComponent(String(data.user.id)));
				return;
			}
			showSignupError(form, status, r);
		});
	}

	function showSignupError(form, status, r) {
		const code = r.error.code;
		if (code === 'email_taken') {
			showFieldErrors(form, 'signup', {
				email: 'This email address is already registered. Log in, or use another address.',
			});
			notify(status, 'error', [
				errorText(code),
				[link('/account.html', 'Log in to that account'), ', or sign up with another email address.'],
			]);
			return;
		}
		if (code === 'invalid_fields' && r.error.fields) {
			const orphans = showFieldErrors(form, 'signup', r.error.fields);
			notify(status, 'error', [errorText(code)].concat(orphans));
			return;
		}
		notify(status, 'error', [errorText(code, r.error.message, r.retryAfter)], true);
	}

	/*
	 * The outcome paybridge's 303 carried (?signup=ok&user=N, or ?error=CODE with, for
	 * invalid fields, the names of the fields). Returns true when the signup succeeded.
	 */
	function showQueryOutcome(box) {
		const q = new URLSearchParams(window.location.search);
		if (q.get('signup') === 'ok') {
			const user = q.get('user') || '';
			notify(box, 'ok', [
				/^[0-9]{1,20}$/.test(user)
					? 'Your account was created (user ' + user + ').'
					: 'Your account was created.',
			]);
			return true;
		}
		const code = q.get('error');
		if (!code) {
			return false;
		}
		const safeCode = /^[a-z0-9_]{1,64}$/.test(code) ? code : 'unknown';
		const parts = [errorText(safeCode, '', null)];
		if (safeCode === 'invalid_fields') {
			const fields = (q.get('fields') || '').split(',').filter(function (f) {
				return /^[a-z_]{1,32}$/.test(f);
			});
			parts[0] = fields.length > 0
				? 'The signup was not accepted: check your ' + fields.join(', ') + '.'
				: 'The signup was not accepted: check the fields and try again.';
		}
		if (safeCode === 'email_taken') {
			parts.push([link('/account.html', 'Log in to that account'), ', or ',
				link('/signup.html', 'sign up with another email address'), '.']);
		} else if (document.body.dataset.page !== 'signup') {
			parts.push([link('/signup.html', 'Back to the signup form'), '.']);
		}
		notify(box, 'error', parts, true);
		return false;
	}

	/* ---- account page ---- */

	/* Bumped on logout so a poll still sleeping does not bring the profile back. */
	let session = 0;

	const POLL_TRIES = 5;
	const POLL_INTERVAL_MS = 1000;

	function sleep(ms) {
		return new Promise(function (resolve) {
			window.setTimeout(resolve, ms);
		});
	}

	function formatDate(iso) {
		const d = new Date(iso);
		if (!iso || Number.isNaN(d.getTime())) {
			return iso || '';
		}
		const t = document.createElement('time');
		t.dateTime = iso;
		t.textContent = d.toLocaleString(undefined, { dateStyle: 'long', timeStyle: 'short' });
		return t;
	}

	function renderProfile(user) {
		$('profile-name').textContent = user.name || '';
		$('profile-email').textContent = user.email || '';
		$('profile-verified').textContent = user.isEmailVerified ? 'Yes' : 'Not yet';
		$('profile-id').textContent = user.id === undefined ? '' : String(user.id);
		$('profile-role').textContent = user.role || '';
		const cus = $('profile-customer');
		cus.textContent = '';
		if (user.stripeCustomerId) {
			cus.textContent = user.stripeCustomerId;
			cus.classList.add('mono');
			cus.classList.remove('pending');
		} else {
			cus.textContent = 'being created…';
			cus.classList.remove('mono');
			cus.classList.add('pending');
		}
		const created = $('profile-created');
		created.textContent = '';
		created.append(formatDate(user.createdAt));
		$('login').hidden = true;
		$('profile').hidden = false;
	}

	/*
	 * The subscription GET /v1/users/me carries, beside the user in data (or, should a
	 * server put it there, inside the user); undefined when the answer has none at all.
	 */
	function subscriptionOf(data) {
		if (!data) {
			return undefined;
		}
		if (data.subscription !== undefined) {
			return data.subscription;
		}
		return data.user ? data.user.subscription : undefined;
	}

	/*
	 * GET /v1/users/me's subscription: {status, product, currentPeriodEnd} or null (absent
	 * on servers that do not know subscriptions yet). product may be a product object or
	 * its name.
	 */
	function renderSubscription(sub) {
		const dd = $('profile-subscription');
		if (!dd) {
			return;
		}
		dd.textContent = '';
		if (!sub) {
			dd.append('None. ', link('/shop.html', 'See the plans'), '.');
			return;
		}
		const product = sub.product && typeof sub.product === 'object'
			? (sub.product.name || sub.product.slug || String(sub.product.id || ''))
			: (sub.product === undefined || sub.product === null ? '' : String(sub.product));
		dd.append((product ? product + ': ' : '') + statusLabel(sub.status));
		if (sub.currentPeriodEnd) {
			dd.append(', current period ends ', formatDate(timeValue(sub.currentPeriodEnd)));
		}
		dd.append(' (', link('/subscriptions.html', 'manage'), ')');
	}

	/* A time from the API: an ISO 8601 string, or Unix seconds. Returns an ISO string. */
	function timeValue(t) {
		if (typeof t === 'number' && Number.isFinite(t)) {
			return new Date(t * 1000).toISOString();
		}
		return t === undefined || t === null ? '' : String(t);
	}

	/* Words for Stripe's statuses (payment intents, subscriptions, orders). */
	function statusLabel(status) {
		const words = {
			active: 'active',
			trialing: 'in its trial',
			past_due: 'past due',
			unpaid: 'unpaid',
			canceled: 'canceled',
			incomplete: 'incomplete',
			incomplete_expired: 'expired before it was paid',
			paused: 'paused',
			succeeded: 'succeeded',
			processing: 'processing',
			requires_payment_method: 'waiting for a payment method',
			requires_confirmation: 'waiting for confirmation',
			requires_action: 'waiting for your bank\'s check',
			requires_capture: 'authorised, not captured yet',
			paid: 'paid',
			refunded: 'refunded',
			partially_refunded: 'partly refunded',
		};
		return words[status] || String(status || 'unknown');
	}

	/*
	 * Opens Stripe's billing portal: POST /v1/billing-portal/sessions -> {url}, then a
	 * top-level navigation there (a navigation, which the page's CSP does not restrict).
	 */
	async function openBillingPortal(button, box) {
		const token = getToken();
		if (!token) {
			notify(box, 'error', [errorText('unauthorized')], true);
			return;
		}
		busy(button, true, 'Opening the billing portal…');
		const r = await api('POST', '/v1/billing-portal/sessions', { token: token, json: {} });
		const url = r.ok && r.body.data && r.body.data.url;
		if (url && safeRedirect(url)) {
			window.location.assign(url);
			return;
		}
		busy(button, false);
		notify(box, 'error', [r.status === 404
			? 'The billing portal is not available on this server.'
			: errorText(r.error ? r.error.code : 'unknown', r.error && r.error.message,
				r.retryAfter)], true);
	}

	/* True for an http(s) URL: the only kind of address a redirect from the API may send us to. */
	function safeRedirect(url) {
		try {
			const u = new URL(url, window.location.href);
			return u.protocol === 'https:' || u.protocol === 'http:';
		} catch (e) {
			return false;
		}
	}

	/* ?next= after a login: a path on this site, never another origin. */
	function nextPath() {
		const next = new URLSearchParams(window.location.search).get('next') || '';
		return /^\/(?![\/\\])[A-Za-z0-9._~\/?=&%-]*$/.test(next) ? next : null;
	}

	function showLogin(message, kind) {
		$('profile').hidden = true;
		$('login').hidden = false;
		const status = $('login-status');
		if (message) {
			notify(status, kind || 'info', [message]);
		} else {
			clearNotice(status);
		}
	}

	/*
	 * Right after signup the customer may still be on its way (Stripe slow or failing: the
	 * jobs worker finishes it). Ask again a few times, about five seconds in all.
	 */
	async function waitForCustomer(token, mine) {
		const status = $('customer-status');
		status.textContent = 'Your Stripe customer is being created…';
		for (let i = 0; i < POLL_TRIES; i++) {
			await sleep(POLL_INTERVAL_MS);
			if (mine !== session) {
				return;
			}
			const r = await api('GET', '/v1/users/me', { token: token });
			if (mine !== session) {
				return;
			}
			if (r.status === 401) {
				setToken(null);
				showLogin(errorText('unauthorized'), 'error');
				return;
			}
			const user = r.ok && r.body.data && r.body.data.user;
			if (user) {
				renderProfile(user);
				if (user.stripeCustomerId) {
					status.textContent = 'Your Stripe customer is ready.';
					return;
				}
			}
		}
		status.textContent = 'Your Stripe customer is not ready yet. It is created in the ' +
			'background; reload this page in a minute to see it.';
	}

	/* sub: the subscription when the answer carried one (null for none), else undefined. */
	async function showUser(user, token, sub) {
		const mine = session;
		$('customer-status').textContent = '';
		renderProfile(user);
		if (!user.stripeCustomerId) {
			waitForCustomer(token, mine);
		}
		if (sub === undefined) {
			/* A login answer has no subscription: ask for the profile's. */
			const r = await api('GET', '/v1/users/me', { token: token });
			if (mine !== session) {
				return;
			}
			sub = r.ok ? subscriptionOf(r.body.data) : undefined;
		}
		renderSubscription(sub);
	}

	async function loadProfile(token) {
		const r = await api('GET', '/v1/users/me', { token: token });
		const user = r.ok && r.body.data && r.body.data.user;
		if (user) {
			showUser(user, token, subscriptionOf(r.body.data) || null);
			return;
		}
		if (r.status === 401) {
			setToken(null);
			showLogin(errorText('unauthorized'), 'error');
			return;
		}
		showLogin(errorText(r.error ? r.error.code : 'unknown', r.error && r.error.message,
			r.retryAfter) + ' Your profile could not be loaded.', 'error');
	}

	function initLogin() {
		const form = $('login-form');
		const status = $('login-status');
		const button = form.querySelector('button[type="submit"]');

		form.addEventListener('submit', async function (ev) {
			ev.preventDefault();
			if (button.disabled) {
				return;
			}
			clearNotice(status);
			clearFieldErrors(form, 'login');
			const email = form.elements.email.value.trim();
			const password = form.elements.password.value;
			const local = {};
			if (email === '') {
				local.email = 'Enter your email address.';
			}
			if (password === '') {
				local.password = 'Enter your password.';
			}
			if (Object.keys(local).length > 0) {
				showFieldErrors(form, 'login', local);
				return;
			}
			busy(button, true, 'Logging in…');
			const r = await api('POST', '/v1/auth/login', {
				json: { email: email, password: password },
			});
			busy(button, false);
			const data = r.ok && r.body.data;
			if (data && data.access_token) {
				setToken(data.access_token);
				form.elements.password.value = '';
				session++;
				const next = nextPath();
				if (next) {
					window.location.assign(next);
					return;
				}
				if (data.user) {
					showUser(data.user, data.access_token, subscriptionOf(data));
				} else {
					await loadProfile(data.access_token);
				}
				$('profile-title').focus();
				return;
			}
			const code = r.error.code;
			if (code === 'invalid_fields' && r.error.fields) {
				const orphans = showFieldErrors(form, 'login', r.error.fields);
				notify(status, 'error', [errorText(code)].concat(orphans));
				return;
			}
			notify(status, 'error', [errorText(code, r.error.message, r.retryAfter)], true);
			if (code === 'invalid_credentials') {
				form.elements.password.value = '';
			}
		});

		$('logout').addEventListener('click', function () {
			/*
			 * A bearer token cannot be revoked from here (paybridge revokes all of a user's
			 * tokens on password change or deletion); forgetting it ends this tab's session,
			 * and it expires on its own shortly.
			 */
			session++;
			setToken(null);
			clearNotice($('outcome'));
			showLogin('You are logged out.', 'info');
			form.elements.email.focus();
		});
	}

	function initAccount() {
		const outcome = $('outcome');
		const signedUp = showQueryOutcome(outcome);
		initLogin();
		const portal = $('billing-portal');
		if (portal) {
			portal.addEventListener('click', function () {
				openBillingPortal(portal, $('account-status'));
			});
		}
		const token = getToken();
		if (token) {
			loadProfile(token);
		} else {
			showLogin(signedUp ? 'Log in with your new account to see your profile.'
				: (nextPath() ? 'Log in to continue.' : ''));
			if (signedUp) {
				outcome.focus();
			}
		}
	}

	/* What www/shop.js uses. */
	window.paybridge = Object.freeze({
		$: $,
		api: api,
		busy: busy,
		clearNotice: clearNotice,
		errorText: errorText,
		formatDate: formatDate,
		getToken: getToken,
		link: link,
		notify: notify,
		openBillingPortal: openBillingPortal,
		safeRedirect: safeRedirect,
		setToken: setToken,
		sleep: sleep,
		statusLabel: statusLabel,
		subscriptionOf: subscriptionOf,
		timeValue: timeValue,
	});

	function init() {
		const page = document.body.dataset.page;
		if (page === 'signup') {
			initSignup();
		} else if (page === 'account') {
			initAccount();
		}
	}

	if (document.readyState === 'loading') {
		document.addEventListener('DOMContentLoaded', init);
	} else {
		init();
	}
}());
