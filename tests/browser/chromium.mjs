// The browser the tests drive: Debian's Chromium through playwright-core, in a fresh,
// empty profile (nothing cached or stored from another run), headless. With reportCsp,
// every document reports its CSP violations to the console before its own scripts run
// (the init script is not subject to the page's CSP), where a test can catch them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

// Returns {context, close}; close() ends the browser and removes its profile.
export async function launchChromium({ defaultTimeout = 10000, reportCsp = false } = {}) {
	const profileDir = mkdtempSync(path.join(tmpdir(), 'pb-chromium-'));
	let context;
	try {
		context = await chromium.launchPersistentContext(profileDir, {
			executablePath: process.env.PB_CHROMIUM || '/usr/bin/chromium',
			headless: true,
			args: [
				'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync',
			],
			viewport: { width: 900, height: 900 },
			timeout: 20000,
		});
		context.setDefaultTimeout(defaultTimeout);
		if (reportCsp) {
			await context.addInitScript(() => {
				document.addEventListener('securitypolicyviolation', (e) => {
					console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
				});
			});
		}
	} catch (e) {
		await context?.close();
		rmSync(profileDir, { recursive: true, force: true });
		throw e;
	}
	return {
		context,
		close: async () => {
			await context.close();
			rmSync(profileDir, { recursive: true, force: true });
		},
	};
}
