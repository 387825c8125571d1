// SPDX-License-Identifier: MIT
// The browser playground (issue 12) in a real browser: Debian's Chromium, headless, driven by
// puppeteer-core (pinned in package-lock.json) over the DevTools protocol.
//
// It starts the emulator binary named by SESSIONPOOL_EMULATOR itself (tests/node/emulator.mjs), on
// an ephemeral port with a ready file and a 1 MiB upload limit (so the 413 path is cheap to reach),
// opens its root URL and does what a user does: runs cells (a failure with its traceback, stdout
// and a matplotlib figure), uploads files through the file input (one into a sub-directory), runs
// code that reads them, downloads one (bytes compared with the download directory's copy), meets
// the upload limit, deletes a file, finds the session in Sessions and deletes it, finds all of that
// in Requests (with the curl command, the token redacted) and reaches the MCP server from Connect.
// No console error, failed request or unexpected error status may happen on the way. A screenshot
// of each view goes to PLAYGROUND_SCREENSHOTS (ctest: the build directory). The tests run in order
// and share one page.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import puppeteer from 'puppeteer-core';

import { check as checkTest, startEmulator, stopEmulators } from './emulator.mjs';

const STEP_MS = 90_000;
const WAIT_MS = 30_000;
const UPLOAD_LIMIT = 1024 * 1024;
const TOKEN = `secret-token-${randomBytes(6).toString('hex')}`;
const ID = `pg-test-${randomBytes(4).toString('hex')}`;
const CSV = 'city,temp\nOslo,4\nLima,19\n';
const BIN = randomBytes(200 * 1024);
const SHOTS = process.env.PLAYGROUND_SCREENSHOTS || join(process.cwd(), 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

let emu = null; // the emulator every test but the strict-mode one uses
let browser = null;
let page = null;
// What must stay empty, and the one error response the test provokes on purpose.
const problems = [];
const expected = [];

// Registers a test whose failure has after() show the emulators' logs, with a screenshot of the page.
function check(name, fn) {
	checkTest(name, STEP_MS, fn, async () => {
		if (page)
			await page.screenshot({ path: join(SHOTS, `failure-${name.split(':')[0].replace(/\W+/g, '-')}.png`) }).catch(() => {});
	});
}

// ---- The browser ----------------------------------------------------------------------------

async function startBrowser() {
	browser = await puppeteer.launch({
		executablePath: CHROMIUM,
		headless: true,
		// CI runs as root, where Chromium's own sandbox cannot start.
		args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
			'--no-default-browser-check', '--disable-background-networking', '--disable-component-update',
			'--disable-extensions', '--lang=en-US'],
		userDataDir: join(emu.dir, 'profile'),
		defaultViewport: { width: 1360, height: 900 },
		env: { ...process.env, LANG: 'en_US.UTF-8', TZ: 'UTC' },
	});
	page = await browser.newPage();
	page.setDefaultTimeout(WAIT_MS);
	page.on('console', (m) => {
		if (m.type() === 'error' || m.type() === 'warn')
			problems.push(`console ${m.type()}: ${m.text()} (${m.location()?.url ?? ''})`);
	});
	page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
	page.on('requestfailed', (r) => problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`));
	page.on('response', (r) => {
		if (r.status() < 400)
			return;
		const what = `${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`;
		// The upload over the limit is the one error the test asks for (and its console line).
		if (r.status() === 413 && r.request().method() === 'POST' && new URL(r.url()).pathname === '/files')
			expected.push(what);
		else
			problems.push(`error response: ${what}`);
	});
	page.on('dialog', (d) => d.accept());
	// The copy buttons are checked by reading the clipboard back.
	await browser.defaultBrowserContext().overridePermissions(emu.base,
		['clipboard-read', 'clipboard-write', 'clipboard-sanitized-write']);
}

function consoleProblems() {
	// Chromium logs every error response on the console: the deliberate 413 once.
	return problems.filter((p) => !(expected.length && /console error: Failed to load resource: .* 413/.test(p)));
}

// ---- Helpers --------------------------------------------------------------------------------

async function shot(name) {
	await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// Shows a view and waits until the lists it reloads on show are in place.
async function tab(name) {
	await page.click(`#tab-${name}`);
	await page.waitForSelector(`#panel-${name}:not([hidden])`);
	await settled();
}

async function settled() {
	await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]'));
}

async function text(sel) {
	return page.$eval(sel, (e) => e.textContent);
}

async function waitText(sel, re, timeout = WAIT_MS) {
	try {
		await page.waitForFunction((s, src, flags) => {
			const e = document.querySelector(s);
			return e && new RegExp(src, flags).test(e.textContent);
		}, { timeout }, sel, re.source, re.flags);
	} catch (e) {
		const now = await text(sel).catch(() => '(absent)');
		throw new Error(`${sel} never matched ${re} (now: ${JSON.stringify(now)}): ${e.message}`);
	}
}

async function setValue(sel, value) {
	await page.$eval(sel, (e, v) => {
		e.value = v;
		e.dispatchEvent(new Event('input', { bubbles: true }));
		e.dispatchEvent(new Event('change', { bubbles: true }));
	}, value);
}

let runsDone = 0;

// Types |code| into the editor and runs it with Ctrl+Enter; resolves when its result is shown.
async function runCell(code) {
	await setValue('#code', code);
	await page.focus('#code');
	await page.keyboard.down('Control');
	await page.keyboard.press('Enter');
	await page.keyboard.up('Control');
	runsDone++;
	await waitText('#run-status', new RegExp(`^Run ${runsDone}: `), 120_000);
	return text('#result-body');
}

async function uploadThrough(localPath, dir) {
	await setValue('#upload-dir', dir);
	const before = (await page.$$('#uploads li')).length;
	const input = await page.$('#file-input');
	await input.uploadFile(localPath);
	// Its line is added at the top; once it has its outcome, the lists reload.
	await page.waitForFunction((n) => {
		const lis = document.querySelectorAll('#uploads li');
		return lis.length === n + 1 && lis[0].querySelector('.msg.ok-text, .msg.error-text');
	}, {}, before);
	await settled();
}

async function rows(tbody) {
	return page.$$eval(`${tbody} tr`, (trs) => trs.map((tr) => Array.from(tr.cells, (c) => c.textContent.trim())));
}

// ---- The tests ------------------------------------------------------------------------------

before(async () => {
	mkdirSync(SHOTS, { recursive: true });
	emu = await startEmulator('playground', ['--upload-max-bytes', String(UPLOAD_LIMIT)]);
	await startBrowser();
});

after(async () => {
	if (browser)
		await browser.close().catch(() => {});
	await stopEmulators();
});

check('load: / redirects to /playground/, served with its CSP; five tabs; the settings hold the token', async () => {
	const res = await page.goto(`${emu.base}/`, { waitUntil: 'networkidle0' });
	assert.equal(res.url(), `${emu.base}/playground/`);
	const chain = res.request().redirectChain();
	assert.equal(chain.length, 1);
	assert.equal(chain[0].response().status(), 302);
	assert.equal(res.status(), 200);
	assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
	assert.equal(await page.title(), 'sessionpool playground');
	const names = await page.$$eval('[role="tab"]', (ts) => ts.map((t) => t.textContent));
	assert.deepEqual(names, ['Run code', 'Manage files', 'Sessions', 'Requests', 'Connect']);
	await waitText('#health', /Python 3\.\d+/);
	// The token every later call sends; it must never come back from the emulator.
	await page.click('#settings summary');
	await setValue('#token', TOKEN);
	assert.equal(await page.evaluate(() => sessionStorage.getItem('sessionpool.playground.token')), TOKEN);
	assert.equal(await page.$eval('#token', (i) => i.type), 'password');
	await shot('settings');
	await page.click('#settings summary');
});

check('keyboard: arrow keys, Home and End move between tabs and show their panels', async () => {
	await page.focus('#tab-run');
	await page.keyboard.press('ArrowRight');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-files');
	assert.equal(await page.$eval('#panel-files', (p) => p.hidden), false);
	assert.equal(await page.$eval('#panel-run', (p) => p.hidden), true);
	await page.keyboard.press('End');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-connect');
	assert.equal(await page.$eval('#tab-connect', (t) => t.getAttribute('aria-selected')), 'true');
	await page.keyboard.press('Home');
	assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-run');
	assert.equal(await page.$eval('#panel-run', (p) => p.hidden), false);
});

check('run code: a failure shows its error and traceback; a cell shows its stdout and its figure', async () => {
	assert.equal(await page.$eval('#session-select', (s) => s.value), ' new');
	await setValue('#session-new', ID);
	let body = await runCell('x = 41\n1 / 0');
	assert.match(body, /^Failed/);
	assert.match(body, /ExecutionError/);
	assert.match(await text('#result-body pre.stderr'), /Traceback[\s\S]*line 2[\s\S]*ZeroDivisionError: division by zero/);
	await shot('run-code-error');
	body = await runCell('import matplotlib.pyplot as plt\nprint("hello from the test", x + 1)\n' +
		'plt.plot([1, 3, 2])\nplt.title("playground test")\nplt.show()');
	assert.match(body, /^Succeeded/);
	assert.equal(await text('#result-body pre.stdout'), 'hello from the test 42\n');
	await page.waitForFunction(() => {
		const img = document.querySelector('#result-body figure img');
		return img && img.complete && img.naturalWidth > 100;
	});
	assert.match(await page.$eval('#result-body figure img', (i) => i.src), /^data:image\/png;base64,iVBOR/);
	// The session exists now, and the picker shows it.
	await page.waitForFunction((id) => document.querySelector('#session-select').value === id, {}, ID);
	assert.equal((await page.$$('#history-list li')).length, 2);
	await shot('run-code');
	await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'dark' }]);
	await shot('run-code-dark');
	await page.emulateMediaFeatures([{ name: 'prefers-color-scheme', value: 'light' }]);
});

check('history: picking the first run shows its result again', async () => {
	const first = await page.$$('#history-list button');
	await first[1].click();
	await waitText('#result-body', /ZeroDivisionError/);
	await first[0].click();
	await waitText('#result-body', /hello from the test/);
});

check('manage files: uploads through the file input, listed with their folder, sizes and times', async () => {
	await tab('files');
	await waitText('#files-status', new RegExp(`/mnt/data of ${ID} is empty`));
	const dir = join(emu.dir, 'local');
	mkdirSync(dir);
	await writeFile(join(dir, 'data.csv'), CSV);
	await writeFile(join(dir, 'bytes.bin'), BIN);
	await uploadThrough(join(dir, 'data.csv'), 'inputs');
	await waitText('#uploads', /Uploaded to \/mnt\/data\/inputs\/data\.csv/);
	await uploadThrough(join(dir, 'bytes.bin'), '');
	await waitText('#uploads', /Uploaded to \/mnt\/data\/bytes\.bin \(200 KiB\)/);
	await waitText('#files-status', /2 files in 2 folders/);
	const list = await rows('#files-body');
	assert.deepEqual(list.map((r) => [r[0], r[1]]), [['inputs/', '—'], ['data.csv', `${CSV.length} B`], ['bytes.bin', '200 KiB']]);
	assert.ok(list.every((r) => r[2].length > 0), 'every row has a time');
	const values = await page.$$eval('#uploads progress', (ps) => ps.map((p) => p.value));
	assert.deepEqual(values, [100, 100]);
	await shot('files');
});

check('run code: a cell reads the uploaded files', async () => {
	await tab('run');
	await runCell('import os\nprint(open("inputs/data.csv").read(), end="")\nprint(os.path.getsize("/mnt/data/bytes.bin"))');
	assert.equal(await text('#result-body pre.stdout'), `${CSV}${BIN.length}\n`);
});

check('manage files: a download has the same bytes; an upload over the limit is explained; delete', async () => {
	await tab('files');
	await waitText('#files-status', /2 files/);
	const downloads = join(emu.dir, 'downloads');
	mkdirSync(downloads);
	const cdp = await page.createCDPSession();
	await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
	await page.click('button[aria-label="Download bytes.bin"]');
	const deadline = Date.now() + WAIT_MS;
	let got = null;
	while (!got && Date.now() < deadline) {
		if ((await readdir(downloads)).includes('bytes.bin'))
			got = await readFile(join(downloads, 'bytes.bin'));
		if (!got || got.length !== BIN.length) {
			got = null;
			await sleep(50);
		}
	}
	assert.ok(got, 'bytes.bin arrived in the download directory');
	assert.ok(got.equals(BIN), 'the downloaded bytes equal the uploaded ones');

	const big = join(emu.dir, 'local', 'big.bin');
	await writeFile(big, Buffer.alloc(UPLOAD_LIMIT + 512 * 1024, 7));
	await uploadThrough(big, '');
	await waitText('#uploads li:first-child .msg', /Too large \(1\.5 MiB\): .*--upload-max-bytes.*128 MiB.*413 PayloadTooLarge/);
	await shot('files-upload-limit');

	await page.click('button[aria-label="Delete bytes.bin"]');
	await waitText('#files-status', /1 file in 2 folders/);
	assert.deepEqual((await rows('#files-body')).map((r) => r[0]), ['inputs/', 'data.csv']);
});

check('sessions: the session is listed with a live countdown; open in Run code; delete', async () => {
	await tab('sessions');
	await waitText('#sessions-body', new RegExp(ID));
	const row = async () => (await rows('#sessions-body')).find((r) => r[0] === ID);
	const before = await row();
	assert.match(before[3], /^[45]:\d\d$/, 'about five minutes left (--cooldown-seconds 300)');
	assert.ok(before[1].length > 0 && before[2].length > 0, 'created and last accessed times');
	await sleep(2100);
	assert.notEqual((await row())[3], before[3], 'the countdown moves');
	await shot('sessions');
	await page.click(`button[aria-label="Open ${ID} in Run code"]`);
	await page.waitForSelector('#panel-run:not([hidden])');
	assert.equal(await page.$eval('#session-select', (s) => s.value), ID);
	assert.equal(await page.evaluate(() => document.activeElement.id), 'code');
	await tab('sessions');
	await page.click(`button[aria-label="Delete session ${ID}"]`);
	await page.waitForFunction((id) => !document.querySelector('#sessions-body').textContent.includes(id), {}, ID);
	await waitText('#sessions-status', /No live sessions/);
});

check('requests: the feed shows those requests; details, curl with the token redacted, filters', async () => {
	await tab('requests');
	const want = [
		['POST', '/executions', ID, '200'],
		['POST', '/files', ID, '200'],
		['POST', '/files', ID, '413'],
		['GET', '/files', ID, '200'],
		['GET', '/files/bytes.bin/content', ID, '200'],
		['DELETE', '/files/bytes.bin', ID, '204'],
		['DELETE', '/session', ID, '204'],
		['GET', '/listSessions', '—', '200'],
	];
	await page.waitForFunction((w) => {
		const got = Array.from(document.querySelectorAll('#req-body tr'), (tr) =>
			Array.from(tr.cells, (c) => c.textContent.trim()));
		return w.every(([m, r, id, s]) => got.some((g) => g[1] === m && g[2] === r && g[3] === id && g[4] === s));
	}, {}, want).catch(async (e) => {
		throw new Error(`missing rows; the feed has ${JSON.stringify(await rows('#req-body'))}: ${e.message}`);
	});
	const all = await rows('#req-body');
	for (const r of all) {
		assert.match(r[0], /^\d\d:\d\d:\d\d\.\d{3}$/, 'time');
		assert.match(r[6], /ms|s$/, 'duration');
	}
	assert.ok(all.some((r) => r[4] === '413' && r[5] === 'PayloadTooLarge'), 'error code column');
	assert.ok(!all.some((r) => r[2].startsWith('/playground') || r[2] === '/.emulator/requests'),
		'the page\'s own files and polls are not in the feed');

	// The run that printed: its request and response bodies, and its curl command.
	const printed = await page.evaluate(async (t) => {
		const res = await fetch('/.emulator/requests?since=0&limit=500', { headers: { Authorization: `Bearer ${t}` } });
		return (await res.json()).requests.filter((r) => r.route === '/executions' && r.requestBody.includes('hello from the test'))[0].seq;
	}, TOKEN);
	await page.click(`#req-body tr[data-seq="${printed}"] button`);
	await waitText('#req-detail-title', /^POST \/executions → 200$/);
	assert.match(await text('#req-req-body'), /"code": "import matplotlib\.pyplot as plt\\nprint\(\\"hello from the test/);
	assert.match(await text('#req-resp-body'), /"status":"Succeeded"|"status": "Succeeded"/);
	assert.match(await text('#req-headers'), /Authorization\[redacted\]/);
	const curl = await text('#req-curl');
	assert.ok(curl.startsWith(`curl -X POST '${emu.base}/executions?api-version=2025-10-02-preview&identifier=${ID}'`), curl);
	assert.match(curl, /-H 'Authorization: Bearer <token>'/);
	assert.match(curl, /-H 'Content-Type: application\/json'/);
	assert.match(curl, /--data-raw '\{"codeInputType":"Inline","executionType":"Synchronous","code":"import matplotlib/);
	await page.click('#req-copy-curl');
	await waitText('#toast', /Copied the curl command/);
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl);
	await shot('requests');

	// An upload's curl command names the file instead of repeating the multipart body.
	const upload = await page.$$eval('#req-body tr', (trs) => trs.find((tr) =>
		tr.cells[2].textContent === '/files' && tr.cells[1].textContent === 'POST' && tr.cells[4].textContent === '200').dataset.seq);
	await page.click(`#req-body tr[data-seq="${upload}"] button`);
	assert.match(await text('#req-curl'), /-F 'file=@(data\.csv|bytes\.bin)'$/);

	// Filters: by identifier, then by status class.
	await setValue('#req-identifier', ID);
	await page.waitForFunction(() => document.querySelectorAll('#req-body tr').length > 0);
	await waitText('#req-status-line', /shown/);
	assert.ok((await rows('#req-body')).every((r) => r[3] === ID), 'only the identifier\'s requests');
	await page.select('#req-status', '4');
	await page.waitForFunction(() => {
		const trs = Array.from(document.querySelectorAll('#req-body tr'));
		return trs.length > 0 && trs.every((tr) => tr.cells[4].textContent.startsWith('4'));
	});
	assert.deepEqual((await rows('#req-body')).map((r) => [r[1], r[2], r[4], r[5]]), [['POST', '/files', '413', 'PayloadTooLarge']]);
	await page.select('#req-status', '');
	await setValue('#req-identifier', '');

	// The token never came back from the emulator.
	const ring = await page.evaluate(async (t) => (await fetch('/.emulator/requests?limit=500', {
		headers: { Authorization: `Bearer ${t}` },
	})).text(), TOKEN);
	assert.ok(!ring.includes(TOKEN), 'the ring holds no token');
	assert.ok(!(await page.content()).includes(TOKEN.slice(13)), 'the page shows no token');
});

check('connect: the settings carry this emulator\'s URL; the MCP server answers with the key', async () => {
	await tab('connect');
	assert.equal(await text('#connect-base'), emu.base);
	const items = await page.$$eval('.connect-item', (s) => s.map((e) => [e.querySelector('h2').textContent, e.querySelector('pre').textContent]));
	const by = Object.fromEntries(items);
	for (const name of ['LangChain', 'Semantic Kernel (.NET)', 'AutoGen', 'LlamaIndex'])
		assert.match(by[name], new RegExp(`"${emu.base}"`), name);
	assert.match(by['Semantic Kernel (Python)'], new RegExp(`"${emu.base.replace('http:', 'https:')}"`));
	const mcp = JSON.parse(by['MCP: VS Code (GitHub Copilot), .vscode/mcp.json']);
	assert.deepEqual(mcp.servers.sessionpool, { type: 'http', url: `${emu.base}/mcp`, headers: { 'x-ms-apikey': 'local' } });
	await page.click('button[aria-label="Copy the LangChain settings"]');
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), by.LangChain);
	await page.click('#mcp-try');
	await waitText('#mcp-try-status', /Connected to Microsoft Container Apps MCP Server \(MCP 2025-03-26\); tools: .*launchShell/);
	await shot('connect');
});

check('no console errors, failed requests or error responses but the one 413 asked for', async () => {
	assert.deepEqual(expected, ['413 POST /files']);
	assert.deepEqual(consoleProblems(), []);
});

check('strict mode: the page loads without a token; its API calls need the one pasted in Settings', async () => {
	const strictToken = `static-${randomBytes(6).toString('hex')}`;
	const strict = await startEmulator('playground', ['--auth-mode', 'strict', '--static-token', strictToken]);
	const main = page;
	page = await browser.newPage();
	page.setDefaultTimeout(WAIT_MS);
	try {
		const res = await page.goto(`${strict.base}/`, { waitUntil: 'networkidle0' });
		assert.equal(res.status(), 200);
		// Another origin, so the default token again: refused, and the page says where to set one.
		assert.equal(await page.$eval('#token', (i) => i.value), 'playground');
		runsDone = 0;
		await runCell('print(6 * 7)');
		assert.match(await text('#run-status'), /^Run 1: HTTP 401/);
		assert.match(await text('#result-body'), /401 Unauthorized[\s\S]*Set the bearer token in Settings/);
		await setValue('#token', strictToken);
		await runCell('print(6 * 7)');
		assert.match(await text('#run-status'), /^Run 2: Succeeded/);
		assert.equal(await text('#result-body pre.stdout'), '42\n');
	} finally {
		await page.close();
		page = main;
	}
});
