// The API description on the site: GET /v1/openapi.yaml is the very file docs/openapi.yaml,
// served by nginx and by Apache as application/yaml (a static file, no worker); www/api.js's
// own YAML reader gives exactly what python3-yaml gives for it; and www/api.html, opened in
// Chromium through nginx, shows the routes with their error codes, with no CSP violation,
// and is in the site's menu.
//
// Run by tests/browser/run.sh (PB_BASE_URL: nginx; PB_APACHE_URL: Apache).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { launchChromium } from './chromium.mjs';

const base = process.env.PB_BASE_URL;
const apache = process.env.PB_APACHE_URL;
if (!base || !apache) {
	throw new Error('PB_BASE_URL and PB_APACHE_URL are not set (tests/browser/run.sh sets them)');
}
const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const specFile = path.join(top, 'docs', 'openapi.yaml');
const shots = process.env.PB_SCREENSHOT_DIR || tmpdir();

let chromium;
let browser;

before(async () => {
	chromium = await launchChromium({ reportCsp: true });
	browser = chromium.context;
});

after(async () => {
	await chromium?.close();
});

test('GET /v1/openapi.yaml is docs/openapi.yaml, as application/yaml, on nginx and Apache', async () => {
	const want = readFileSync(specFile, 'utf8');
	for (const origin of [base, apache]) {
		const res = await fetch(`${origin}/v1/openapi.yaml`);
		assert.equal(res.status, 200, origin);
		assert.match(res.headers.get('content-type') || '', /^application\/yaml/, origin);
		assert.equal(await res.text(), want, `${origin}: the served file differs`);
	}
});

test("api.js reads docs/openapi.yaml exactly as python3-yaml does", () => {
	const ctx = {};
	vm.createContext(ctx);
	vm.runInContext(`${readFileSync(path.join(top, 'www', 'api.js'), 'utf8')}
this.reader = paybridgeYaml;`, ctx);
	const mine = ctx.reader.parse(readFileSync(specFile, 'utf8'));
	const theirs = JSON.parse(execFileSync('/usr/bin/python3', ['-c',
		'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding="utf-8"))))',
		specFile]));
	assert.deepEqual(JSON.parse(JSON.stringify(mine)), theirs);
	// And it refuses what it does not read, rather than guessing.
	assert.throws(() => ctx.reader.parse('a: [1, 2\n'), /line 1/);
});

test('api.html shows the routes and their error codes, and the menu links to it', async () => {
	const violations = [];
	const page = await browser.newPage();
	page.on('console', (msg) => {
		if (/Content Security Policy|CSP violation/i.test(msg.text())) violations.push(msg.text());
	});
	await page.goto(`${base}/`);
	await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'API' }).click();
	await page.waitForURL(`${base}/api.html`);
	const signup = page.locator('#op-users_create');
	await signup.waitFor();
	assert.match(await signup.locator('h3').innerText(), /POST\s+\/v1\/users$/);
	assert.ok(await signup.locator('.error-code', { hasText: /^email_taken$/ }).count() > 0,
		'POST /v1/users lists email_taken');
	assert.ok(await signup.locator('.status', { hasText: /^409$/ }).count() > 0, 'and its 409');
	const webhook = page.locator('#op-webhooks_stripe');
	assert.ok(await webhook.locator('.error-code', { hasText: /^signature_invalid$/ }).count() > 0,
		'the webhook lists signature_invalid');
	assert.ok(await page.locator('#schema-User').isVisible(), 'the schemas are shown');
	assert.ok(await page.locator('#api-loading').isHidden());
	await page.screenshot({ path: path.join(shots, 'api.png'), fullPage: false });
	assert.deepEqual(violations, [], 'Chromium reported no CSP violation');
	await page.close();
});
