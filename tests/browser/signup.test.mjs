// The signup and account pages in real Chromium (Debian's, driven by playwright-core):
// a signup through the form ends on the account page showing the profile with its Stripe
// customer id; the same email again is refused with a clear message next to the field;
// with JavaScript off the form still posts and paybridge's 303 lands on the account page;
// when Stripe fails during signup, the account page waits for the customer the jobs worker
// creates moments later.
//
// Run by tests/browser/run.sh, which starts the stack and sets PB_BASE_URL (nginx serving
// www/ and /v1/), PB_EMULATOR_URL (the Stripe emulator's control API) and
// PB_SCREENSHOT_DIR. By hand, against a running stack:
//   PB_BASE_URL=http://127.0.0.1:8080 node --test tests/browser/signup.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium } from './chromium.mjs';

const base = process.env.PB_BASE_URL;
const emulator = process.env.PB_EMULATOR_URL;
if (!base) {
	throw new Error('PB_BASE_URL is not set (tests/browser/run.sh sets it)');
}
const shots = process.env.PB_SCREENSHOT_DIR || tmpdir();
const unique = `${Date.now()}-${process.pid}`;
const password = 'correct horse battery staple';
const CUSTOMER = /^cus_[A-Za-z0-9]+$/;

let chromium;
let context;

before(async () => {
	chromium = await launchChromium({ defaultTimeout: 8000 });
	context = chromium.context;
});

after(async () => {
	await chromium?.close();
});

async function screenshot(page, name) {
	const file = path.join(shots, name);
	await page.screenshot({ path: file, fullPage: true });
	console.log(`screenshot: ${file}`);
}

async function fillSignup(page, name, email) {
	await page.goto(`${base}/signup.html`);
	await page.getByLabel('Name').fill(name);
	await page.getByLabel('Email').fill(email);
	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Create account' }).click();
}

// Waits for the profile to show a Stripe customer id (the page polls /v1/users/me when the
// customer is still being created) and returns it.
async function customerId(page) {
	const cell = page.locator('#profile-customer');
	await page.waitForFunction(
		(re) => new RegExp(re).test(document.getElementById('profile-customer').textContent),
		CUSTOMER.source, { timeout: 8000 });
	return (await cell.textContent()).trim();
}

const email = `browser+${unique}@example.com`;
const name = `Ada Browser ${unique}`;

test('signing up shows the profile with its Stripe customer id', async () => {
	const page = await context.newPage();
	await fillSignup(page, name, email);
	await page.waitForURL(/\/account\.html\?signup=ok&user=[0-9]+$/);
	const userId = new URL(page.url()).searchParams.get('user');

	const outcome = page.locator('#outcome');
	await assert.doesNotReject(outcome.getByText('Your account was created').waitFor());
	await page.locator('#profile').waitFor({ state: 'visible' });
	assert.equal(await page.locator('#login').isVisible(), false, 'the login form is hidden');

	const cus = await customerId(page);
	assert.match(cus, CUSTOMER);
	assert.equal(await page.locator('#profile-name').textContent(), name);
	assert.equal(await page.locator('#profile-email').textContent(), email);
	assert.equal(await page.locator('#profile-id').textContent(), userId);
	await screenshot(page, 'browser-profile.png');

	// Logging out forgets the token: a reload shows the login form, not the profile.
	await page.getByRole('button', { name: 'Log out' }).click();
	await page.locator('#login').waitFor({ state: 'visible' });
	await page.reload();
	await page.locator('#login').waitFor({ state: 'visible' });
	assert.equal(await page.locator('#profile').isVisible(), false);
	await page.close();
});

test('a second signup with the same email shows a clear error next to the field', async () => {
	const page = await context.newPage();
	await fillSignup(page, 'Someone Else', email);
	const fieldError = page.locator('#signup-email-error');
	await fieldError.getByText('already registered').waitFor();
	assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
	const alert = page.getByRole('alert').filter({ hasText: 'already exists' });
	await assert.doesNotReject(alert.waitFor());
	assert.match(page.url(), /\/signup\.html$/, 'the page stays on the form');
	await screenshot(page, 'browser-duplicate.png');
	await page.close();
});

test('without JavaScript the form posts, and the account page logs in', async () => {
	const page = await context.newPage();
	// Playwright's javaScriptEnabled: false, for this page only.
	const cdp = await context.newCDPSession(page);
	await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });

	const plainEmail = `browser-nojs+${unique}@example.com`;
	await fillSignup(page, 'Grace NoScript', plainEmail);
	await page.waitForURL(/\/account\.html\?signup=ok&user=[0-9]+$/);
	assert.equal(await page.locator('#login').isVisible(), false, 'no login form without JS');
	assert.match(await page.locator('main').innerText(), /need JavaScript/);

	// The same page with JavaScript back: it reads the outcome and offers the login.
	await cdp.send('Emulation.setScriptExecutionDisabled', { value: false });
	await page.reload();
	await page.locator('#outcome').getByText('Your account was created').waitFor();
	await page.locator('#login').waitFor({ state: 'visible' });

	await page.getByLabel('Email').fill(plainEmail);
	await page.getByLabel('Password').fill('not the password at all');
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.locator('#login-status').getByText('do not match').waitFor();

	await page.getByLabel('Password').fill(password);
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.locator('#profile').waitFor({ state: 'visible' });
	assert.match(await customerId(page), CUSTOMER);
	assert.equal(await page.locator('#profile-email').textContent(), plainEmail);

	// A taken email through the plain form: the redirect's error is shown on the page.
	await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
	await fillSignup(page, 'Grace Again', plainEmail);
	await page.waitForURL(/[?&]error=email_taken/);
	await cdp.send('Emulation.setScriptExecutionDisabled', { value: false });
	await page.reload();
	await page.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
	await page.close();
});

// The emulator's fault control (tests/stripe-emulator/README.md).
async function faults(method, body) {
	const res = await fetch(`${emulator}/_emulator/faults`, {
		method,
		headers: { 'Content-Type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	assert.ok(res.ok, `${method} /_emulator/faults: ${res.status}`);
}

test('when Stripe fails at signup, the profile shows the customer once it exists',
	{ skip: emulator ? false : 'PB_EMULATOR_URL is not set' }, async () => {
		const page = await context.newPage();
		// Customer creation fails until the page has shown that it is waiting for it.
		await faults('POST', {
			method: 'POST', path: '/v1/customers', kind: 'error', status: 500, duration_s: 20,
		});
		try {
			await fillSignup(page, 'Slow Stripe', `browser-slow+${unique}@example.com`);
			await page.waitForURL(/\/account\.html\?signup=ok&user=[0-9]+$/);
			await page.locator('#profile-customer').getByText('being created').waitFor();
			await page.locator('#customer-status').getByText('being created').waitFor();
			await screenshot(page, 'browser-pending.png');
		} finally {
			await faults('DELETE');
		}
		// The jobs worker retries within a few seconds; the page asks again meanwhile.
		assert.match(await customerId(page), CUSTOMER);
		await page.locator('#customer-status').getByText('is ready').waitFor();
		await page.close();
	});
