/*
 * paybridge's pages, part two: the shop (www/shop.html, GET /v1/products), paying for a
 * product (www/pay.html: the Payment Element pattern, with a test form standing in for
 * Stripe.js), the live status of a payment (Server-Sent Events from nginx's nchan, or
 * long-poll where there is none), the order history (www/orders.html), hosted Checkout and
 * its return page (www/thanks.html), and subscriptions (www/subscriptions.html). Uses the
 * helpers www/app.js exports as window.paybridge; loaded after it (both deferred).
 *
 * As in app.js: server data only ever goes into the page with textContent, and nothing
 * here needs an inline script or style, so the strict Content-Security-Policy the web
 * servers send holds (script-src 'self', style-src 'self', connect-src 'self',
 * form-action 'self'). Stripe's hosted pages (Checkout, the billing portal, 3-D Secure)
 * are reached by top-level navigation (location.assign or a link), which that policy does
 * not restrict.
 */
'use strict';

(function () {
	const pb = window.paybridge;
	if (!pb) {
		return;
	}
	const $ = pb.$;

	/* ---- shared bits ---- */

	/* Minor units to text: 1999 USD -> "$19.99" (the currency's own number of decimals). */
	function money(amount, currency) {
		const cur = String(currency || '').toUpperCase();
		try {
			const fmt = new Intl.NumberFormat(undefined, { style: 'currency', currency: cur });
			const digits = fmt.resolvedOptions().maximumFractionDigits;
			return fmt.format(Number(amount) / Math.pow(10, digits));
		} catch (e) {
			return String(amount) + ' ' + cur;
		}
	}

	function price(p) {
		const base = money(p.amount, p.currency);
		if (p.type !== 'recurring' || !p.interval) {
			return base;
		}
		const n = Number(p.intervalCount || 1);
		return base + (n === 1 ? ' / ' + p.interval : ' every ' + n + ' ' + p.interval + 's');
	}

	function el(tag, attrs, children) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (k === 'text') {
				e.textContent = v;
			} else if (k === 'className') {
				e.className = v;
			} else {
				e.setAttribute(k, v);
			}
		}
		for (const c of children || []) {
			e.append(c);
		}
		return e;
	}

	/* A key for Idempotency-Key: random, per attempt. */
	function randomKey() {
		if (window.crypto && typeof window.crypto.randomUUID === 'function') {
			return window.crypto.randomUUID();
		}
		const b = new Uint8Array(16);
		window.crypto.getRandomValues(b);
		return Array.from(b, function (x) {
			return x.toString(16).padStart(2, '0');
		}).join('');
	}

	/* The path and query of this page, for ?next= after a login. */
	function here() {
		return window.location.pathname + window.location.search;
	}

	/*
	 * The caller's token, or null after telling them to log in (with a link back here).
	 */
	function requireToken(box) {
		const token = pb.getToken();
		if (token) {
			return token;
		}
		pb.notify(box, 'info', [[
			pb.link('/account.html?next=' + encodeURIComponent(here()), 'Log in'),
			' or ', pb.link('/signup.html', 'create an account'), ' first.',
		]], true);
		return null;
	}

	/* The common ending of a failed call: a 401 forgets the token and asks for a login. */
	function showError(box, r, what) {
		if (r.status === 401) {
			pb.setToken(null);
			pb.notify(box, 'error', [[pb.errorText('unauthorized') + ' ',
				pb.link('/account.html?next=' + encodeURIComponent(here()), 'Log in'), '.']], true);
			return;
		}
		const text = pb.errorText(r.error ? r.error.code : 'unknown',
			r.error && r.error.message, r.retryAfter);
		pb.notify(box, 'error', [what ? what + ' ' + text : text], true);
	}

	/* Every active product (a few pages of GET /v1/products at most), by id. */
	const productCache = new Map();
	async function productById(id) {
		const key = String(id);
		if (productCache.has(key)) {
			return productCache.get(key);
		}
		const r = await pb.api('GET', '/v1/products/' + encodeURIComponent(key));
		const p = r.ok && r.body.data && r.body.data.product ? r.body.data.product : null;
		productCache.set(key, p);
		return p;
	}

	/* Starts hosted Checkout: POST /v1/checkout/sessions, then off to Stripe's page. */
	async function startCheckout(button, box, productId, quantity, mode) {
		const token = requireToken(box);
		if (!token) {
			return;
		}
		pb.clearNotice(box);
		pb.busy(button, true, 'Opening Checkout…');
		const r = await pb.api('POST', '/v1/checkout/sessions', {
			token: token,
			json: { productId: productId, quantity: quantity, mode: mode },
			idempotencyKey: randomKey(),
		});
		const url = r.ok && r.body.data && r.body.data.url;
		if (url && pb.safeRedirect(url)) {
			window.location.assign(url);
			return;
		}
		pb.busy(button, false);
		if (r.status === 404) {
			pb.notify(box, 'error', ['Checkout is not available on this server.'], true);
			return;
		}
		showError(box, r, 'Checkout could not be started.');
	}

	/* ---- the shop ---- */

	function productCard(p, box) {
		const li = el('li', { className: 'card product', 'data-product-id': String(p.id),
			'data-slug': p.slug || '' });
		const titleId = 'product-' + p.id + '-title';
		li.setAttribute('aria-labelledby', titleId);
		li.append(el('h2', { id: titleId, text: p.name }));
		if (p.description) {
			li.append(el('p', { text: p.description }));
		}
		li.append(el('p', { className: 'price', text: price(p) }));
		const recurring = p.type === 'recurring';
		const qtyId = 'qty-' + p.id;
		const qty = el('input', { id: qtyId, name: 'quantity', type: 'number', min: '1',
			max: '100', value: '1', inputmode: 'numeric', className: 'qty' });
		const actions = el('div', { className: 'actions' });
		if (!recurring) {
			li.append(el('div', { className: 'field' }, [
				el('label', { for: qtyId, text: 'Quantity' }), qty,
			]));
		}
		function quantity() {
			const n = parseInt(qty.value, 10);
			return Number.isFinite(n) && n >= 1 && n <= 100 ? n : 1;
		}
		if (recurring) {
			const sub = el('button', { type: 'button', text: 'Subscribe with Stripe Checkout' });
			sub.setAttribute('aria-describedby', titleId);
			sub.addEventListener('click', function () {
				startCheckout(sub, box, p.id, 1, 'subscription');
			});
			actions.append(sub);
		} else {
			const pay = el('button', { type: 'button', text: 'Pay by card' });
			pay.setAttribute('aria-describedby', titleId);
			pay.addEventListener('click', function () {
				window.location.assign('/pay.html?product=' + encodeURIComponent(String(p.id)) +
					'&quantity=' + quantity());
			});
			const co = el('button', { type: 'button', className: 'secondary',
				text: 'Pay with Stripe Checkout' });
			co.setAttribute('aria-describedby', titleId);
			co.addEventListener('click', function () {
				startCheckout(co, box, p.id, quantity(), 'payment');
			});
			actions.append(pay, co);
		}
		li.append(actions);
		return li;
	}

	async function initShop() {
		const box = $('shop-status');
		const list = $('catalog');
		const more = $('catalog-more');
		const loading = $('catalog-loading');
		const q = new URLSearchParams(window.location.search);
		if (q.get('checkout') === 'canceled') {
			pb.notify(box, 'info', ['Checkout was canceled: nothing was charged.']);
		}
		let cursor = null;
		async function load() {
			const r = await pb.api('GET', '/v1/products?limit=20' +
				(cursor ? '&startingAfter=' + encodeURIComponent(cursor) : ''));
			loading.hidden = true;
			if (!r.ok) {
				showError(box, r, 'The catalog could not be loaded.');
				return;
			}
			const d = r.body.data;
			for (const p of d.items || []) {
				productCache.set(String(p.id), p);
				list.append(productCard(p, box));
			}
			if (!list.firstChild) {
				list.append(el('li', { className: 'card', text: 'Nothing is for sale yet.' }));
			}
			cursor = d.hasMore ? d.nextCursor : null;
			more.hidden = !cursor;
		}
		more.addEventListener('click', load);
		await load();
	}

	/* ---- the live status of a payment ---- */

	const FINAL = new Set(['succeeded', 'canceled']);

	/*
	 * Watches one intent and calls onIntent(intent, via) with each new state: first
	 * Server-Sent Events on /v1/payments/intents/{id}/events (nginx's nchan; EventSource
	 * cannot send a header, so the token rides in ?access_token=), each message the intent's
	 * JSON; when that fails before it opened or is closed for good (no nchan: a 404; or the
	 * subscription refused), long-poll GET /v1/payments/intents/{id}?wait=20&after=STATUS,
	 * which answers when the status is no longer STATUS or after 20 s. Returns
	 * {stop(), seen(intent)}; seen() tells it about a state learnt elsewhere (the confirm
	 * answer), so a long-poll asks "after" the newest one.
	 */
	function watchIntent(id, token, initialStatus, onIntent, onTransport) {
		let last = initialStatus;
		let stopped = false;
		let es = null;
		let polling = false;

		function take(intent, via) {
			if (!intent || intent.id !== id || stopped) {
				return;
			}
			last = intent.status;
			onIntent(intent, via);
			if (FINAL.has(last)) {
				stop();
			}
		}

		function stop() {
			stopped = true;
			window.clearTimeout(check);
			if (es) {
				es.close();
				es = null;
			}
		}

		/*
		 * While the stream is open, a plain read now and then (3 s after it opened, then every
		 * 15 s) in case a publish was lost: the stream is the fast path, not the only one.
		 */
		let check = 0;
		function scheduleCheck(ms) {
			window.clearTimeout(check);
			check = window.setTimeout(async function () {
				if (stopped || !es) {
					return;
				}
				const r = await pb.api('GET', '/v1/payments/intents/' + encodeURIComponent(id),
					{ token: token });
				if (r.ok && r.body.data && r.body.data.status !== last) {
					take(r.body.data, 'a periodic check');
				}
				if (!stopped && es) {
					scheduleCheck(15000);
				}
			}, ms);
		}

		async function longPoll() {
			if (polling || stopped) {
				return;
			}
			polling = true;
			onTransport('long-poll');
			let delay = 0;
			while (!stopped && !FINAL.has(last)) {
				if (delay > 0) {
					await pb.sleep(delay);
					if (stopped) {
						break;
					}
				}
				const started = Date.now();
				const r = await pb.api('GET', '/v1/payments/intents/' + encodeURIComponent(id) +
					'?wait=20&after=' + encodeURIComponent(last || ''), { token: token });
				if (stopped) {
					break;
				}
				if (r.ok && r.body.data) {
					const before = last;
					take(r.body.data, 'long-poll');
					/*
					 * A server that answered at once with nothing new (one without long-poll,
					 * or a refreshed read) is asked again a moment later, not in a loop.
					 */
					delay = r.body.data.status === before && Date.now() - started < 1000 ? 1000 : 0;
					continue;
				}
				if (r.status === 401 || r.status === 404) {
					onTransport('stopped (' + pb.errorText(r.error.code) + ')');
					break;
				}
				/* Busy (429/503 with Retry-After) or unreachable: back off, then ask again. */
				delay = Math.min(30, r.retryAfter || 2) * 1000;
			}
			polling = false;
		}

		function sse() {
			let opened = false;
			try {
				es = new window.EventSource('/v1/payments/intents/' + encodeURIComponent(id) +
					'/events?access_token=' + encodeURIComponent(token));
			} catch (e) {
				es = null;
				longPoll();
				return;
			}
			es.addEventListener('open', function () {
				opened = true;
				onTransport('Server-Sent Events');
				scheduleCheck(3000);
			});
			es.addEventListener('message', function (ev) {
				let msg;
				try {
					msg = JSON.parse(ev.data);
				} catch (e) {
					return;
				}
				/* The intent itself, or (should a publisher send one) paybridge's envelope. */
				take(msg && msg.success !== undefined && msg.data ? msg.data : msg,
					'Server-Sent Events');
			});
			es.addEventListener('error', function () {
				if (stopped || !es) {
					return;
				}
				/*
				 * Before it ever opened (404 under Apache, a refused subscription), or closed
				 * for good: long-poll instead. A dropped stream that the browser is
				 * reconnecting (readyState CONNECTING after an open) is left to it.
				 */
				if (!opened || es.readyState === window.EventSource.CLOSED) {
					window.clearTimeout(check);
					es.close();
					es = null;
					longPoll();
				}
			});
		}

		if (!FINAL.has(last)) {
			if (typeof window.EventSource === 'function') {
				sse();
			} else {
				longPoll();
			}
		} else {
			onTransport('not needed: the payment is final');
		}
		window.addEventListener('pagehide', stop);
		return {
			stop: stop,
			seen: function (intent) {
				take(intent, 'the confirm answer');
			},
		};
	}

	/* ---- paying for a product ---- */

	function renderLive(intent, via) {
		const badge = $('live-badge');
		$('live').hidden = false;
		badge.textContent = intent.status;
		badge.className = 'status-badge status-' + String(intent.status).replace(/[^a-z_]/g, '');
		$('live').dataset.status = intent.status;
		let detail = 'Payment ' + pb.statusLabel(intent.status) + '.';
		if (intent.status === 'requires_payment_method' && intent.lastPaymentError) {
			detail = 'The last attempt was declined; choose another card.';
		}
		$('live-detail').textContent = detail + (via ? ' (from ' + via + ')' : '');
	}

	function renderDecline(box, intent) {
		const e = intent.lastPaymentError || {};
		const why = e.declineCode || e.code || 'declined';
		const words = {
			insufficient_funds: 'the card has insufficient funds',
			generic_decline: 'the bank declined it',
			lost_card: 'the card was reported lost',
			stolen_card: 'the card was reported stolen',
			expired_card: 'the card has expired',
			incorrect_cvc: 'the security code is wrong',
			card_declined: 'the bank declined it',
		};
		pb.notify(box, 'error', [
			'Your card was declined: ' + (words[why] || why) + '.',
			e.message ? 'The bank said: ' + e.message : '',
			'Decline code: ' + why + '.',
			'Nothing was charged. Choose another card and pay again.',
		].filter(Boolean), true);
		const p = box.querySelector('p');
		if (p) {
			p.dataset.declineCode = why;
		}
		$('pay-status').dataset.declineCode = why;
	}

	async function renderSummary(intent) {
		$('pay-summary').hidden = false;
		$('pay-amount').textContent = money(intent.amount, intent.currency);
		$('pay-quantity').textContent = String(intent.quantity || 1);
		$('pay-intent').textContent = intent.id;
		const p = intent.productId ? await productById(intent.productId) : null;
		$('pay-product').textContent = p ? p.name : (intent.productId ? '#' + intent.productId : '');
	}

	function showOutcome(box, intent) {
		const form = $('pay-form');
		$('pay-action').hidden = true;
		switch (intent.status) {
		case 'succeeded':
			form.hidden = true;
			pb.notify(box, 'ok', ['Payment received: thank you.',
				[pb.link('/orders.html?intent=' + encodeURIComponent(intent.id),
					'See it in your orders'), '.']], true);
			break;
		case 'processing':
			form.hidden = true;
			pb.notify(box, 'info', ['Your payment is processing; this page updates when it is done.']);
			break;
		case 'canceled':
			form.hidden = true;
			pb.notify(box, 'error', ['This payment was canceled. ',
				[pb.link('/shop.html', 'Back to the shop'), '.']], true);
			break;
		case 'requires_action': {
			const url = intent.nextAction && intent.nextAction.redirectUrl;
			if (url && pb.safeRedirect(url)) {
				form.hidden = true;
				$('pay-action-link').href = url;
				$('pay-action').hidden = false;
				pb.notify(box, 'info', ['Your bank asks you to confirm this payment.']);
				$('pay-action-link').focus();
			} else {
				pb.notify(box, 'error', ['Your bank asks for a check this page cannot show.'], true);
			}
			break;
		}
		case 'requires_payment_method':
			form.hidden = false;
			if (intent.lastPaymentError) {
				renderDecline(box, intent);
			}
			break;
		default:
			form.hidden = false;
		}
	}

	async function initPay() {
		const box = $('pay-status');
		const token = requireToken(box);
		if (!token) {
			return;
		}
		const q = new URLSearchParams(window.location.search);
		/* ?intent= is ours; payment_intent= is what Stripe's 3-D Secure page adds on return. */
		let id = q.get('intent') || q.get('payment_intent');
		let intent = null;
		if (!id) {
			const productId = parseInt(q.get('product') || '', 10);
			const quantity = parseInt(q.get('quantity') || '1', 10);
			if (!Number.isFinite(productId)) {
				pb.notify(box, 'error', [['Choose a product in ', pb.link('/shop.html', 'the shop'),
					' first.']], true);
				return;
			}
			/* One intent per visit: the key makes a repeated POST (a retry) return the same. */
			const r = await pb.api('POST', '/v1/payments/intents', {
				token: token,
				json: { productId: productId, quantity: Number.isFinite(quantity) ? quantity : 1 },
				idempotencyKey: randomKey(),
			});
			if (!r.ok) {
				showError(box, r, 'The payment could not be prepared.');
				return;
			}
			intent = r.body.data;
			id = intent.id;
			/* A reload now shows this payment instead of making another. */
			window.history.replaceState(null, '', '/pay.html?intent=' + encodeURIComponent(id));
		} else {
			const r = await pb.api('GET', '/v1/payments/intents/' + encodeURIComponent(id),
				{ token: token });
			if (!r.ok) {
				showError(box, r, 'This payment could not be loaded.');
				return;
			}
			intent = r.body.data;
		}
		await renderSummary(intent);
		renderLive(intent, null);
		const back = q.get('redirect_status');
		if (back === 'failed' && intent.status !== 'succeeded') {
			pb.notify(box, 'error', ['Your bank\'s check did not succeed. Choose a card and try again.'], true);
			$('pay-form').hidden = false;
		} else if (back && intent.status === 'requires_action') {
			/* Back from the bank before Stripe told us: the live status follows. */
			pb.notify(box, 'info', ['Back from your bank: confirming the payment…']);
		} else {
			showOutcome(box, intent);
		}

		const feed = watchIntent(id, token, intent.status, function (it, via) {
			renderLive(it, via);
			/* A change that arrived by itself (webhook, 3-D Secure elsewhere) is announced too. */
			if (it.status === 'succeeded' || it.status === 'canceled') {
				showOutcome(box, it);
			}
		}, function (transport) {
			$('live-transport').textContent = transport;
			$('live').dataset.transport = transport;
		});

		const form = $('pay-form');
		const button = $('pay-button');
		form.addEventListener('submit', async function (ev) {
			ev.preventDefault();
			if (button.disabled) {
				return;
			}
			pb.clearNotice(box);
			const pm = form.elements.paymentMethodId.value;
			pb.busy(button, true, 'Paying…');
			const r = await pb.api('POST', '/v1/payments/intents/' + encodeURIComponent(id) +
				'/confirm', {
				token: token,
				json: {
					paymentMethodId: pm,
					returnUrl: window.location.origin + '/pay.html?intent=' + encodeURIComponent(id),
				},
			});
			pb.busy(button, false);
			if (!r.ok) {
				showError(box, r, 'The payment did not go through.');
				return;
			}
			renderLive(r.body.data, 'the confirm answer');
			feed.seen(r.body.data);
			showOutcome(box, r.body.data);
		});
	}

	/* ---- orders ---- */

	function orderRow(o) {
		const tr = el('tr', { 'data-order-id': String(o.id),
			'data-payment-intent': o.paymentIntentId || '',
			'data-checkout-session': o.checkoutSessionId || '' });
		tr.append(el('td', { className: 'mono', text: String(o.id) }));
		tr.append(el('td', { text: o.productName || (o.productId ? '#' + o.productId : '') }));
		tr.append(el('td', { text: String(o.quantity || 1) }));
		let amount = money(o.amount, o.currency);
		if (o.amountRefunded) {
			amount += ' (' + money(o.amountRefunded, o.currency) + ' refunded)';
		}
		tr.append(el('td', { text: amount }));
		tr.append(el('td', { className: 'order-status', text: pb.statusLabel(o.status) }));
		tr.append(el('td', {}, [pb.formatDate(o.createdAt)]));
		return tr;
	}

	async function initOrders() {
		const box = $('orders-status');
		const loading = $('orders-loading');
		const token = requireToken(box);
		if (!token) {
			loading.hidden = true;
			return;
		}
		const q = new URLSearchParams(window.location.search);
		/* Coming from a payment: its order is made by a webhook moments later; wait a little. */
		const waitFor = q.get('intent') || '';
		const body = $('orders-body');
		const more = $('orders-more');
		let cursor = null;

		async function load(reset) {
			const r = await pb.api('GET', '/v1/orders?limit=20' +
				(!reset && cursor ? '&startingAfter=' + encodeURIComponent(cursor) : ''),
			{ token: token });
			loading.hidden = true;
			if (!r.ok) {
				showError(box, r, 'Your orders could not be loaded.');
				return null;
			}
			const d = r.body.data;
			if (reset) {
				body.textContent = '';
			}
			for (const o of d.items || []) {
				body.append(orderRow(o));
			}
			$('orders').hidden = !body.firstChild;
			$('orders-empty').hidden = !!body.firstChild;
			cursor = d.hasMore ? d.nextCursor : null;
			more.hidden = !cursor;
			return d.items || [];
		}
		more.addEventListener('click', function () {
			load(false);
		});
		let items = await load(true);
		if (!waitFor || !items) {
			return;
		}
		for (let i = 0; i < 10; i++) {
			if (items.some(function (o) { return o.paymentIntentId === waitFor; })) {
				pb.notify(box, 'ok', ['Your new order is below.']);
				return;
			}
			pb.notify(box, 'info', ['Your payment is being recorded…']);
			await pb.sleep(1000);
			items = await load(true);
			if (!items) {
				return;
			}
		}
		pb.notify(box, 'info', ['Your payment has not reached the order list yet; reload this page in a minute.']);
	}

	/* ---- subscriptions ---- */

	function subscriptionCard(s, token, box, done, reload) {
		const li = el('li', { className: 'card subscription', 'data-subscription-id': s.id,
			'data-status': s.status });
		const titleId = 'sub-' + s.id + '-title';
		li.setAttribute('aria-labelledby', titleId);
		const name = s.productName || (s.product && s.product.name) || '';
		const h = el('h2', { id: titleId, text: name || 'Subscription' });
		li.append(h);
		if (!name && s.productId) {
			productById(s.productId).then(function (p) {
				if (p) {
					h.textContent = p.name;
				}
			});
		}
		const dl = el('dl', { className: 'profile' });
		dl.append(el('dt', { text: 'Status' }), el('dd', { className: 'sub-status',
			text: pb.statusLabel(s.status) + (s.cancelAtPeriodEnd ? ', ends at the end of this period' : '') }));
		if (s.currentPeriodEnd) {
			dl.append(el('dt', { text: s.cancelAtPeriodEnd ? 'Ends' : 'Renews' }),
				el('dd', {}, [pb.formatDate(pb.timeValue(s.currentPeriodEnd))]));
		}
		dl.append(el('dt', { text: 'Id' }), el('dd', { className: 'mono', text: s.id }));
		li.append(dl);
		const live = s.status !== 'canceled' && s.status !== 'incomplete_expired';
		if (live) {
			const actions = el('div', { className: 'actions' });
			async function cancel(button, atPeriodEnd) {
				pb.clearNotice(box);
				pb.busy(button, true, 'Canceling…');
				const r = await pb.api('POST', '/v1/subscriptions/' + encodeURIComponent(s.id) +
					'/cancel', { token: token, json: { atPeriodEnd: atPeriodEnd } });
				pb.busy(button, false);
				if (!r.ok) {
					showError(box, r, 'The subscription was not canceled.');
					return;
				}
				done.textContent = atPeriodEnd
					? (name || 'The subscription') + ' will end at the end of this period.'
					: (name || 'The subscription') + ' is canceled.';
				done.className = 'notice ok';
				await reload();
			}
			if (!s.cancelAtPeriodEnd) {
				const later = el('button', { type: 'button', className: 'secondary',
					text: 'Cancel at the end of the period' });
				later.setAttribute('aria-describedby', titleId);
				later.addEventListener('click', function () {
					cancel(later, true);
				});
				actions.append(later);
			}
			const now = el('button', { type: 'button', className: 'secondary danger',
				text: 'Cancel now' });
			now.setAttribute('aria-describedby', titleId);
			now.addEventListener('click', function () {
				cancel(now, false);
			});
			actions.append(now);
			li.append(actions);
		}
		return li;
	}

	async function initSubscriptions() {
		const box = $('subs-status');
		const done = $('subs-done');
		const loading = $('subs-loading');
		const portal = $('billing-portal');
		portal.addEventListener('click', function () {
			pb.openBillingPortal(portal, box);
		});
		const token = requireToken(box);
		if (!token) {
			loading.hidden = true;
			return;
		}
		const list = $('subs');
		async function reload() {
			const r = await pb.api('GET', '/v1/subscriptions?limit=100', { token: token });
			loading.hidden = true;
			if (!r.ok) {
				if (r.status === 404) {
					pb.notify(box, 'error', ['Subscriptions are not available on this server.'], true);
				} else {
					showError(box, r, 'Your subscriptions could not be loaded.');
				}
				return;
			}
			const items = Array.isArray(r.body.data) ? r.body.data : (r.body.data.items || []);
			list.textContent = '';
			for (const s of items) {
				list.append(subscriptionCard(s, token, box, done, reload));
			}
			$('subs-empty').hidden = items.length > 0;
		}
		await reload();
	}

	/* ---- back from hosted Checkout ---- */

	async function initThanks() {
		const box = $('thanks-status');
		const progress = $('thanks-progress');
		const q = new URLSearchParams(window.location.search);
		const session = q.get('session_id') || '';
		if (!/^cs_[A-Za-z0-9_]{1,200}$/.test(session)) {
			pb.notify(box, 'error', [['This page is where Stripe Checkout returns to. ',
				pb.link('/shop.html', 'Visit the shop'), '.']], true);
			return;
		}
		const token = requireToken(box);
		if (!token) {
			return;
		}
		document.body.dataset.session = session;
		progress.textContent = 'Checkout is complete. Confirming your purchase…';
		/* The webhooks (checkout.session.completed, the subscription's) arrive moments later. */
		for (let i = 0; i < 20; i++) {
			const orders = await pb.api('GET', '/v1/orders?limit=20', { token: token });
			if (orders.status === 401) {
				showError(box, orders);
				return;
			}
			const order = orders.ok && (orders.body.data.items || []).find(function (o) {
				return o.checkoutSessionId === session;
			});
			if (order) {
				progress.textContent = '';
				pb.notify(box, 'ok', ['Payment received: ' + (order.productName || 'your order') +
					', ' + money(order.amount, order.currency) + '.',
				[pb.link('/orders.html', 'See your orders'), '.']], true);
				document.body.dataset.outcome = 'order';
				return;
			}
			const me = await pb.api('GET', '/v1/users/me', { token: token });
			const sub = me.ok && pb.subscriptionOf(me.body.data);
			if (sub && (sub.status === 'active' || sub.status === 'trialing')) {
				progress.textContent = '';
				const product = sub.product && typeof sub.product === 'object'
					? sub.product.name : sub.product;
				pb.notify(box, 'ok', ['Your subscription' + (product ? ' to ' + product : '') +
					' is ' + pb.statusLabel(sub.status) + '.',
				[pb.link('/subscriptions.html', 'Manage your subscriptions'), '.']], true);
				document.body.dataset.outcome = 'subscription';
				return;
			}
			await pb.sleep(1000);
		}
		progress.textContent = 'Stripe has not confirmed your purchase yet. It will appear in ' +
			'your orders or subscriptions within a few minutes.';
	}

	function init() {
		switch (document.body.dataset.page) {
		case 'shop':
			initShop();
			break;
		case 'pay':
			initPay();
			break;
		case 'orders':
			initOrders();
			break;
		case 'subscriptions':
			initSubscriptions();
			break;
		case 'thanks':
			initThanks();
			break;
		}
	}

	if (document.readyState === 'loading') {
		document.addEventListener('DOMContentLoaded', init);
	} else {
		init();
	}
}());
