// SPDX-License-Identifier: MIT
// The sessionpool playground: run code, manage files and sessions, watch the requests the emulator
// serves, and copy client settings. Plain DOM code, no framework and no network but this page's
// own origin (the Content-Security-Policy allows nothing else). Every API call carries the bearer
// token of the Settings field; the token and the MCP key live in sessionStorage only.

const API_VERSION = '2025-10-02-preview';
const ORIGIN = location.origin;
const NEW = ' new'; // no identifier has a space
const STORE_TOKEN = 'sessionpool.playground.token';
const STORE_KEY = 'sessionpool.playground.mcpKey';
const FEED_MAX = 500;

const $ = (id) => document.getElementById(id);

// h('button', {class: 'x', onclick: f}, 'text', child…): an element; text is always set as text.
function h(tag, props = {}, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props)) {
		if (v === undefined || v === null || v === false)
			continue;
		if (k.startsWith('on'))
			e.addEventListener(k.slice(2), v);
		else if (k === 'class')
			e.className = v;
		else if (k in e && typeof e[k] !== 'object' && !k.includes('-'))
			e[k] = v;
		else
			e.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat()) {
		if (c !== undefined && c !== null && c !== false)
			e.append(c instanceof Node ? c : String(c));
	}
	return e;
}

// ---- Settings -------------------------------------------------------------------------------

function setting(input, key, fallback) {
	input.value = sessionStorage.getItem(key) ?? fallback;
	input.addEventListener('input', () => sessionStorage.setItem(key, input.value));
	return () => input.value.trim();
}

const token = setting($('token'), STORE_TOKEN, 'playground');
const mcpKey = setting($('mcp-key'), STORE_KEY, 'playground');

// The settings pop over the page: Escape or a click elsewhere closes them.
const settingsBox = $('settings');
settingsBox.addEventListener('keydown', (e) => {
	if (e.key === 'Escape' && settingsBox.open) {
		settingsBox.open = false;
		settingsBox.querySelector('summary').focus();
	}
});
document.addEventListener('click', (e) => {
	if (settingsBox.open && !settingsBox.contains(e.target))
		settingsBox.open = false;
});

// ---- API ------------------------------------------------------------------------------------

class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

// The query is built by hand: the emulator does not read '+' as a space.
function apiUrl(route, query = {}, version = true) {
	const q = version ? [['api-version', API_VERSION]] : [];
	for (const [k, v] of Object.entries(query)) {
		if (v !== undefined && v !== null && v !== '')
			q.push([k, v]);
	}
	const qs = q.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
	return `${ORIGIN}/${route}${qs ? `?${qs}` : ''}`;
}

function errorOf(status, text) {
	try {
		const e = JSON.parse(text).error;
		if (e && typeof e.code === 'string')
			return new ApiError(status, e.code, e.message ?? '');
		if (e && typeof e.message === 'string')
			return new ApiError(status, String(e.code), e.message);
	} catch {
		// not JSON
	}
	return new ApiError(status, `HTTP ${status}`, text.slice(0, 300));
}

// fetch() with the bearer token; resolves with the Response when 2xx, else throws an ApiError.
async function call(method, url, { json, body, headers = {} } = {}) {
	const hdrs = { Authorization: `Bearer ${token() || 'playground'}`, ...headers };
	if (json !== undefined) {
		hdrs['Content-Type'] = 'application/json';
		body = JSON.stringify(json);
	}
	let res;
	try {
		res = await fetch(url, { method, headers: hdrs, body, cache: 'no-store' });
	} catch (e) {
		throw new ApiError(0, 'NetworkError', `The emulator at ${ORIGIN} did not answer (${e.message}).`);
	}
	if (!res.ok)
		throw errorOf(res.status, await res.text());
	return res;
}

function describe(err) {
	if (err instanceof ApiError && err.status === 401)
		return `401 ${err.code}: ${err.message} (set the bearer token in Settings)`;
	if (err instanceof ApiError)
		return err.status ? `${err.status} ${err.code}: ${err.message}` : err.message;
	return String(err?.message ?? err);
}

// ---- Formatting -----------------------------------------------------------------------------

function fmtBytes(n) {
	if (n < 1024)
		return `${n} B`;
	const units = ['KiB', 'MiB', 'GiB'];
	let v = n;
	let i = -1;
	do {
		v /= 1024;
		i++;
	} while (v >= 1024 && i < units.length - 1);
	return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

function fmtTime(iso) {
	const d = new Date(iso);
	return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function fmtClock(iso) {
	const d = new Date(iso);
	if (Number.isNaN(d.getTime()))
		return String(iso);
	const p = (n, w = 2) => String(n).padStart(w, '0');
	return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function fmtCountdown(ms) {
	if (ms <= 0)
		return 'expired';
	const s = Math.ceil(ms / 1000);
	const hh = Math.floor(s / 3600);
	const mm = Math.floor((s % 3600) / 60);
	const ss = String(s % 60).padStart(2, '0');
	return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

function fmtMs(ms) {
	return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function randomId() {
	const b = new Uint8Array(4);
	crypto.getRandomValues(b);
	return `playground-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

function validId(id) {
	return id.length >= 4 && id.length <= 128;
}

// aria-busy on a region while loads that will replace its content are under way.
const busyCount = new Map();
function busy(id, delta) {
	const n = (busyCount.get(id) ?? 0) + delta;
	busyCount.set(id, n);
	$(id).setAttribute('aria-busy', String(n > 0));
}

// ---- Toast and clipboard --------------------------------------------------------------------

let toastTimer = 0;
function toast(text) {
	const t = $('toast');
	t.textContent = text;
	t.classList.add('show');
	clearTimeout(toastTimer);
	toastTimer = setTimeout(() => t.classList.remove('show'), 2500);
}

async function copyText(text, what) {
	try {
		await navigator.clipboard.writeText(text);
	} catch {
		// No async clipboard (a plain-http origin other than localhost): the old way.
		const ta = h('textarea', { class: 'visually-hidden' }, text);
		document.body.append(ta);
		ta.select();
		const ok = document.execCommand('copy');
		ta.remove();
		if (!ok) {
			toast(`Could not copy ${what}: select it and copy by hand`);
			return;
		}
	}
	toast(`Copied ${what}`);
}

// ---- Tabs -----------------------------------------------------------------------------------

const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
const onShow = {};
let current = 'run';

function showTab(name, focus = false) {
	for (const t of tabs) {
		const on = t.id === `tab-${name}`;
		t.setAttribute('aria-selected', String(on));
		t.tabIndex = on ? 0 : -1;
		$(t.getAttribute('aria-controls')).hidden = !on;
		if (on && focus)
			t.focus();
	}
	current = name;
	$('sessionbar').hidden = !(name === 'run' || name === 'files');
	history.replaceState(null, '', `#${name}`);
	onShow[name]?.();
}

for (const t of tabs) {
	t.addEventListener('click', () => showTab(t.id.slice(4)));
	t.addEventListener('keydown', (e) => {
		const i = tabs.indexOf(t);
		const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
		if (to === undefined)
			return;
		e.preventDefault();
		showTab(tabs[(to + tabs.length) % tabs.length].id.slice(4), true);
	});
}

// ---- Sessions (list, picker, view) ----------------------------------------------------------

const sessions = { list: [], known: new Set(), skewMs: 0, loaded: false };
const sel = $('session-select');
const newId = $('session-new');

function currentId() {
	return (sel.value === NEW ? newId.value : sel.value).trim();
}

function renderPicker(want) {
	want = want ?? currentId();
	sel.replaceChildren(
		...sessions.list.map((s) => h('option', { value: s.identifier }, s.identifier)),
		h('option', { value: NEW }, 'New identifier…'),
	);
	if (want && sessions.known.has(want)) {
		sel.value = want;
	} else {
		sel.value = NEW;
		newId.value = want || newId.value || randomId();
	}
	$('session-new-wrap').hidden = sel.value !== NEW;
}

function selectSession(id) {
	renderPicker(id);
	sessionChanged();
}

function sessionChanged() {
	$('session-new-wrap').hidden = sel.value !== NEW;
	if (current === 'files')
		loadFiles();
}

sel.addEventListener('change', () => {
	if (sel.value === NEW && !newId.value)
		newId.value = randomId();
	sessionChanged();
	if (sel.value === NEW)
		newId.focus();
});
newId.addEventListener('change', sessionChanged);
$('session-refresh').addEventListener('click', () => loadSessions());

// Every page of listSessions (nextLink is followed on this origin: it may name a public base URL).
async function loadSessions(want) {
	const all = [];
	let url = apiUrl('listSessions');
	busy('sessions-table', 1);
	try {
		for (let page = 0; url && page < 100; page++) {
			const res = await call('GET', url);
			const date = Date.parse(res.headers.get('Date') ?? '');
			if (!Number.isNaN(date)) {
				const skew = date - Date.now();
				sessions.skewMs = Math.abs(skew) > 2000 ? skew : 0;
			}
			const data = await res.json();
			all.push(...(data.sessions ?? []));
			url = data.nextLink ? ORIGIN + new URL(data.nextLink).pathname.replace(/^\/+/, '/') +
				new URL(data.nextLink).search : null;
		}
	} catch (e) {
		$('sessions-status').textContent = `Could not list sessions: ${describe(e)}`;
		$('sessions-status').className = 'status-line error';
		busy('sessions-table', -1);
		renderPicker(want);
		return;
	}
	sessions.list = all;
	sessions.known = new Set(all.map((s) => s.identifier));
	sessions.loaded = true;
	renderPicker(want);
	renderSessions();
	busy('sessions-table', -1);
}

function renderSessions() {
	const body = $('sessions-body');
	const n = sessions.list.length;
	$('sessions-status').className = 'status-line';
	$('sessions-status').textContent = n ? `${n} live session${n === 1 ? '' : 's'}.` :
		'No live sessions. Run code or upload a file with a new identifier to create one.';
	$('sessions-table').hidden = !n;
	body.replaceChildren(...sessions.list.map((s) => h('tr', {},
		h('td', { class: 'mono' }, s.identifier),
		h('td', {}, fmtTime(s.createdAt)),
		h('td', {}, fmtTime(s.lastAccessedAt)),
		h('td', { class: 'num' }, h('span', { 'data-expire': s.expireAt, title: `Expires at ${fmtTime(s.expireAt)}` },
			countdownText(s.expireAt))),
		h('td', { class: 'actions-cell' },
			h('button', {
				type: 'button', class: 'small', 'aria-label': `Open ${s.identifier} in Run code`,
				onclick: () => {
					selectSession(s.identifier);
					showTab('run');
					$('code').focus();
				},
			}, 'Open in Run code'),
			h('button', {
				type: 'button', class: 'small', 'aria-label': `Files of ${s.identifier}`,
				onclick: () => {
					selectSession(s.identifier);
					showTab('files');
				},
			}, 'Files'),
			h('button', {
				type: 'button', class: 'small danger', 'aria-label': `Delete session ${s.identifier}`,
				onclick: () => deleteSession(s.identifier),
			}, 'Delete')),
	)));
}

function countdownText(expireAt) {
	return fmtCountdown(Date.parse(expireAt) - (Date.now() + sessions.skewMs));
}

async function deleteSession(id) {
	if (!confirm(`Delete session ${id}? Its interpreter, variables and files are gone for good.`))
		return;
	try {
		await (await call('DELETE', apiUrl('session', { identifier: id }))).arrayBuffer();
		toast(`Deleted session ${id}`);
	} catch (e) {
		toast(`Could not delete ${id}: ${describe(e)}`);
	}
	await loadSessions();
}

// The countdowns tick locally; an expiry refreshes the list once.
let expiredSeen = false;
setInterval(() => {
	let expired = false;
	for (const e of document.querySelectorAll('[data-expire]')) {
		e.textContent = countdownText(e.dataset.expire);
		expired ||= e.textContent === 'expired';
	}
	if (expired && !expiredSeen && current === 'sessions')
		loadSessions();
	expiredSeen = expired;
}, 1000);

$('sessions-refresh').addEventListener('click', () => loadSessions());
onShow.sessions = () => loadSessions();

// ---- Run code -------------------------------------------------------------------------------

const runs = [];
const code = $('code');
code.value = 'import sys\nprint("Hello from Python", sys.version.split()[0])\n6 * 7\n';
let escaped = false;

code.addEventListener('keydown', (e) => {
	if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
		e.preventDefault();
		runCode();
		return;
	}
	if (e.key === 'Escape') {
		escaped = true;
		return;
	}
	if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !escaped) {
		e.preventDefault();
		if (!document.execCommand('insertText', false, '    '))
			code.setRangeText('    ', code.selectionStart, code.selectionEnd, 'end');
	}
	escaped = false;
});
$('run').addEventListener('click', () => runCode());

async function runCode() {
	const id = currentId();
	const status = $('run-status');
	if (!validId(id)) {
		status.textContent = 'The session identifier must be 4 to 128 characters.';
		status.className = 'status-line error';
		return;
	}
	const run = { n: runs.length + 1, id, code: code.value, at: new Date(), body: null, error: null };
	$('run').disabled = true;
	status.className = 'status-line';
	status.textContent = `Running in ${id}…`;
	const t0 = performance.now();
	try {
		const res = await call('POST', apiUrl('executions', { identifier: id }), {
			json: { codeInputType: 'Inline', executionType: 'Synchronous', code: run.code },
		});
		run.body = await res.json();
	} catch (e) {
		run.error = e;
	}
	run.roundTripMs = performance.now() - t0;
	$('run').disabled = false;
	runs.push(run);
	status.className = run.error || run.body.status !== 'Succeeded' ? 'status-line error' : 'status-line';
	status.textContent = `Run ${run.n}: ${runStatus(run)}` +
		(run.body?.result ? ` in ${run.body.result.executionTimeInMilliseconds} ms` : '') + '.';
	renderHistory(run);
	showRun(run);
	if (!sessions.known.has(id))
		loadSessions(id);
}

function runStatus(run) {
	return run.error ? `HTTP ${run.error.status || 'error'}` : run.body.status;
}

function isImage(v) {
	return v && typeof v === 'object' && v.type === 'image' && typeof v.base64_data === 'string';
}

const IMAGE_TYPES = { png: 'image/png', jpeg: 'image/jpeg', jpg: 'image/jpeg', gif: 'image/gif', svg: 'image/svg+xml', webp: 'image/webp' };

function valueNode(v, run) {
	if (isImage(v)) {
		const type = IMAGE_TYPES[String(v.format).toLowerCase()] ?? 'image/png';
		const src = `data:${type};base64,${v.base64_data}`;
		const bytes = Math.floor((v.base64_data.length * 3) / 4);
		return h('figure', {},
			h('img', { src, alt: `Figure returned by run ${run.n} (${v.format})` }),
			h('figcaption', {}, `${String(v.format).toUpperCase()} image, ${fmtBytes(bytes)} · `,
				h('a', { href: src, download: `run-${run.n}.${v.format}` }, 'Save image')));
	}
	const text = v === null ? 'None' : typeof v === 'string' ? v : JSON.stringify(v, null, 2);
	return h('pre', { class: 'out', tabindex: 0, 'aria-label': 'Value' }, text);
}

function showRun(run) {
	const out = [];
	const ok = !run.error && run.body.status === 'Succeeded';
	const r = run.body?.result;
	out.push(h('div', { class: 'result-head' },
		h('span', { class: `badge ${ok ? 'ok' : 'bad'}` }, runStatus(run)),
		h('span', {}, `Run ${run.n} in `, h('code', {}, run.id)),
		r ? h('span', {}, `execution ${r.executionTimeInMilliseconds} ms`) : null,
		h('span', { class: 'hint' }, `round trip ${fmtMs(run.roundTripMs)} · ${run.at.toLocaleTimeString()}`)));
	out.push(h('details', {}, h('summary', {}, 'Code'), h('pre', { class: 'code' }, run.code)));
	if (run.error) {
		out.push(h('div', { class: 'error-box', role: 'alert' },
			h('strong', {}, run.error.status ? `${run.error.status} ${run.error.code}` : run.error.code),
			h('div', {}, run.error.message),
			run.error.status === 401 ? h('div', {}, 'Set the bearer token in Settings (top right).') : null));
	} else if (run.body.error) {
		const e = run.body.error.error ?? run.body.error;
		out.push(h('div', { class: 'error-box' }, h('strong', {}, e.code), h('div', {}, e.message)));
	}
	if (r) {
		const v = r.executionResult;
		if (r.stdout)
			out.push(h('h3', {}, 'stdout'), h('pre', { class: 'out stdout', tabindex: 0, 'aria-label': 'stdout' }, r.stdout));
		if (r.stderr) {
			out.push(h('h3', {}, ok ? 'stderr' : 'stderr (traceback)'),
				h('pre', { class: 'out stderr', tabindex: 0, 'aria-label': 'stderr' }, r.stderr));
		}
		if (v !== '' && !(v === null && !ok)) {
			out.push(h('h3', {}, isImage(v) ? 'Image' : 'Value'));
			out.push(valueNode(v, run));
		}
		if (!r.stdout && !r.stderr && v === '')
			out.push(h('p', { class: 'hint' }, 'No output and no value.'));
	}
	$('result-body').replaceChildren(...out);
	$('result').hidden = false;
	for (const b of document.querySelectorAll('#history-list button'))
		b.setAttribute('aria-current', String(b.dataset.run === String(run.n)));
}

function renderHistory() {
	$('history-empty').hidden = runs.length > 0;
	$('history-list').replaceChildren(...runs.slice().reverse().map((run) => {
		const ok = !run.error && run.body.status === 'Succeeded';
		const first = run.code.split('\n').find((l) => l.trim()) ?? '';
		return h('li', {}, h('button', {
			type: 'button', 'data-run': run.n,
			onclick: () => {
				showRun(run);
				$('result').scrollIntoView({ block: 'nearest' });
			},
		},
		h('span', { class: 'line1' }, h('span', { class: ok ? 'ok-text' : 'bad-text' }, runStatus(run)),
			` · #${run.n} · ${run.id}`),
		h('code', {}, first || '(empty)')));
	}));
}

// ---- Files ----------------------------------------------------------------------------------

function filesStatus(text, error = false) {
	$('files-status').textContent = text;
	$('files-status').className = error ? 'status-line error' : 'status-line';
}

// Listing creates a session (any files route does), so a new identifier is not listed.
async function loadFiles() {
	busy('files-table', 1);
	try {
		await listFiles();
	} finally {
		busy('files-table', -1);
	}
}

async function listFiles() {
	const id = currentId();
	const table = $('files-table');
	if (!validId(id)) {
		table.hidden = true;
		filesStatus('Pick a session, or type an identifier of 4 to 128 characters.', true);
		return;
	}
	if (!sessions.known.has(id)) {
		table.hidden = true;
		filesStatus(`Session ${id} does not exist yet: upload a file or run code to create it.`);
		return;
	}
	filesStatus(`Loading the files of ${id}…`);
	let data;
	try {
		const res = await call('GET', apiUrl('files', { identifier: id, recursive: 'true' }));
		data = await res.json();
	} catch (e) {
		table.hidden = true;
		filesStatus(`Could not list the files of ${id}: ${describe(e)}`, true);
		return;
	}
	if (id !== currentId())
		return;
	const entries = (data.value ?? []).map((f) => ({ ...f, path: f.directory ? `${f.directory}/${f.name}` : f.name }));
	entries.sort(treeOrder);
	const nfiles = entries.filter((f) => f.type !== 'directory').length;
	const ndirs = entries.length - nfiles;
	filesStatus(entries.length ? `${nfiles} file${nfiles === 1 ? '' : 's'}` +
		(ndirs ? ` in ${ndirs + 1} folders` : '') + ` in /mnt/data of ${id}.` : `/mnt/data of ${id} is empty.`);
	table.hidden = !entries.length;
	$('files-body').replaceChildren(...entries.map(fileRow));
}

// A tree, folders before files at each level, each folder followed by what it holds.
function treeOrder(a, b) {
	const key = (f) => f.path.split('/').map((seg, i, all) =>
		(i < all.length - 1 || f.type === 'directory' ? '0' : '1') + seg);
	const ka = key(a);
	const kb = key(b);
	for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
		if (ka[i] !== kb[i])
			return ka[i] < kb[i] ? -1 : 1;
	}
	return ka.length - kb.length;
}

function fileRow(f) {
	const depth = f.path.split('/').length - 1;
	const indent = depth ? `indent-${Math.min(depth, 3)}` : '';
	if (f.type === 'directory') {
		return h('tr', { class: 'dir-row' },
			h('td', { class: `mono ${indent}` }, `${f.name}/`),
			h('td', { class: 'num' }, '—'),
			h('td', {}, fmtTime(f.lastModifiedAt)),
			h('td', { class: 'actions-cell hint' }, 'folder'));
	}
	return h('tr', {},
		h('td', { class: `mono ${indent}`, title: `/mnt/data/${f.path}` }, f.name),
		h('td', { class: 'num', title: `${f.sizeInBytes} bytes` }, fmtBytes(f.sizeInBytes)),
		h('td', {}, fmtTime(f.lastModifiedAt)),
		h('td', { class: 'actions-cell' },
			h('button', { type: 'button', class: 'small', 'aria-label': `Download ${f.path}`, onclick: () => downloadFile(f.path) }, 'Download'),
			h('button', { type: 'button', class: 'small danger', 'aria-label': `Delete ${f.path}`, onclick: () => deleteFile(f.path) }, 'Delete')));
}

async function downloadFile(path) {
	const id = currentId();
	try {
		const res = await call('GET', apiUrl(`files/${encodeURIComponent(path)}/content`, { identifier: id }));
		const url = URL.createObjectURL(await res.blob());
		const a = h('a', { href: url, download: path.split('/').pop(), class: 'visually-hidden' }, 'download');
		document.body.append(a);
		a.click();
		a.remove();
		setTimeout(() => URL.revokeObjectURL(url), 60000);
		toast(`Downloading ${path}`);
	} catch (e) {
		filesStatus(`Could not download ${path}: ${describe(e)}`, true);
	}
}

async function deleteFile(path) {
	const id = currentId();
	if (!confirm(`Delete /mnt/data/${path} from session ${id}?`))
		return;
	try {
		await (await call('DELETE', apiUrl(`files/${encodeURIComponent(path)}`, { identifier: id }))).arrayBuffer();
		toast(`Deleted ${path}`);
	} catch (e) {
		filesStatus(`Could not delete ${path}: ${describe(e)}`, true);
		return;
	}
	await loadFiles();
}

const LIMIT_TEXT = 'The emulator refuses an upload larger than its --upload-max-bytes limit (128 MiB unless set ' +
	'otherwise) or than the room left in the session\'s /mnt/data (--session-disk-mb, 1024 MiB by default) with ' +
	'413 PayloadTooLarge, as the real pool refuses files over its limit.';

// One file, streamed by XMLHttpRequest (its upload events drive the progress bar).
function uploadOne(file, id, dir) {
	const progress = h('progress', { max: 100, value: 0, 'aria-label': `Upload of ${file.name}` });
	const msg = h('span', { class: 'msg' }, `Waiting… ${fmtBytes(file.size)}`);
	const li = h('li', {}, h('span', { class: 'mono' }, file.name), progress, msg);
	$('uploads').prepend(li);
	return new Promise((resolve) => {
		const xhr = new XMLHttpRequest();
		xhr.open('POST', apiUrl('files', { identifier: id, path: dir }));
		xhr.setRequestHeader('Authorization', `Bearer ${token() || 'playground'}`);
		xhr.upload.addEventListener('progress', (e) => {
			if (!e.lengthComputable)
				return;
			progress.value = Math.round((e.loaded * 100) / e.total);
			msg.textContent = `${fmtBytes(e.loaded)} of ${fmtBytes(e.total)} sent`;
		});
		xhr.addEventListener('load', () => {
			if (xhr.status >= 200 && xhr.status < 300) {
				progress.value = 100;
				let where = dir ? `${dir}/${file.name}` : file.name;
				try {
					const f = JSON.parse(xhr.responseText);
					where = f.directory ? `${f.directory}/${f.name}` : f.name;
				} catch {
					// keep the name we sent
				}
				msg.textContent = `Uploaded to /mnt/data/${where} (${fmtBytes(file.size)}).`;
				msg.className = 'msg ok-text';
			} else {
				const e = errorOf(xhr.status, xhr.responseText);
				msg.textContent = xhr.status === 413 ? `Too large (${fmtBytes(file.size)}): ${LIMIT_TEXT} ` +
					`The emulator said: ${e.message}` : `Upload failed: ${describe(e)}`;
				msg.className = 'msg error-text';
				li.classList.add('failed');
			}
			resolve();
		});
		xhr.addEventListener('error', () => {
			msg.textContent = 'Upload failed: the connection closed before an answer. ' +
				(file.size > 1024 * 1024 ? LIMIT_TEXT : '');
			msg.className = 'msg error-text';
			li.classList.add('failed');
			resolve();
		});
		const form = new FormData();
		form.append('file', file, file.name);
		xhr.send(form);
	});
}

async function uploadFiles(files) {
	const id = currentId();
	if (!validId(id)) {
		filesStatus('Pick a session, or type an identifier of 4 to 128 characters, before uploading.', true);
		return;
	}
	const dir = $('upload-dir').value.trim().replace(/^\/+|\/+$/g, '');
	busy('uploads', 1);
	try {
		for (const f of files)
			await uploadOne(f, id, dir);
		await loadSessions(id);
		await loadFiles();
	} finally {
		busy('uploads', -1);
	}
}

$('file-input').addEventListener('change', async (e) => {
	const files = Array.from(e.target.files);
	e.target.value = '';
	if (files.length)
		await uploadFiles(files);
});

const drop = $('dropzone');
for (const ev of ['dragenter', 'dragover']) {
	drop.addEventListener(ev, (e) => {
		e.preventDefault();
		drop.classList.add('over');
	});
}
for (const ev of ['dragleave', 'drop'])
	drop.addEventListener(ev, () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
	e.preventDefault();
	const files = Array.from(e.dataTransfer?.files ?? []);
	if (files.length)
		uploadFiles(files);
});

$('files-refresh').addEventListener('click', async () => {
	await loadSessions();
	await loadFiles();
});
onShow.files = () => loadFiles();

// ---- Requests -------------------------------------------------------------------------------

const feed = { since: 0, items: [], dropped: 0, timer: 0, paused: false, selected: null, busy: false, gen: 0 };

function feedFilters() {
	return { identifier: $('req-identifier').value.trim(), status: $('req-status').value };
}

function feedStatus(text, error = false) {
	$('req-status-line').textContent = text;
	$('req-status-line').className = error ? 'status-line error' : 'status-line';
}

function feedSummary() {
	const n = feed.items.length;
	return `${n} request${n === 1 ? '' : 's'} shown` +
		(feed.dropped ? `; ${feed.dropped} left the emulator's ring (500 kept) before they were read` : '') +
		(feed.paused ? '; paused.' : '; updated every second.');
}

async function pollFeed() {
	clearTimeout(feed.timer);
	if (current !== 'requests' || feed.paused || feed.busy)
		return;
	feed.busy = true;
	const gen = feed.gen;
	let again = false;
	try {
		const f = feedFilters();
		const res = await call('GET', apiUrl('.emulator/requests',
			{ since: feed.since, limit: 200, identifier: f.identifier, status: f.status }, false));
		const data = await res.json();
		if (gen === feed.gen) {
			feed.since = data.next;
			feed.dropped += data.dropped;
			addRows(data.requests);
			again = data.requests.length === 200;
			feedStatus(feedSummary());
		}
	} catch (e) {
		feedStatus(`Could not read the request log: ${describe(e)}`, true);
	}
	feed.busy = false;
	feed.timer = setTimeout(pollFeed, again ? 0 : 1000);
}

function addRows(reqs) {
	const body = $('req-body');
	for (const r of reqs) {
		feed.items.push(r);
		body.prepend(requestRow(r));
	}
	while (feed.items.length > FEED_MAX) {
		feed.items.shift();
		body.lastElementChild?.remove();
	}
}

function requestRow(r) {
	const label = `${r.method} ${r.route} ${r.status}`;
	const tr = h('tr', { 'data-seq': r.seq, onclick: () => showRequest(r) },
		h('td', { title: r.time }, fmtClock(r.time)),
		h('td', {}, r.method),
		h('td', {}, h('button', { type: 'button', class: 'linklike', 'aria-label': `Show ${label}` }, r.route)),
		h('td', { class: 'mono' }, r.identifier ?? '—'),
		h('td', { class: `num status-${Math.floor(r.status / 100)}` }, r.status),
		h('td', {}, r.errorCode ?? ''),
		h('td', { class: 'num' }, fmtMs(r.durationMs)));
	if (feed.selected === r.seq)
		tr.setAttribute('aria-current', 'true');
	return tr;
}

function bodyText(text, type) {
	if (text === null || text === undefined)
		return '(no body)';
	if (type && type.startsWith('application/json')) {
		try {
			return JSON.stringify(JSON.parse(text), null, 2);
		} catch {
			// cut JSON stays as it came
		}
	}
	return text;
}

function requestHeader(r, name) {
	const hit = r.requestHeaders.find(([n]) => n.toLowerCase() === name);
	return hit ? hit[1] : null;
}

function showRequest(r) {
	feed.selected = r.seq;
	for (const tr of $('req-body').children) {
		if (tr.dataset.seq === String(r.seq))
			tr.setAttribute('aria-current', 'true');
		else
			tr.removeAttribute('aria-current');
	}
	$('req-detail').hidden = false;
	$('req-detail-title').textContent = `${r.method} ${r.route} → ${r.status}${r.errorCode ? ` ${r.errorCode}` : ''}`;
	const meta = [
		['Time', fmtTime(r.time)],
		['Query', r.query ?? '(none)'],
		['Identifier', r.identifier ?? '(none)'],
		['Duration', fmtMs(r.durationMs)],
		['Bytes', `${r.bytesIn} in, ${r.bytesOut} out`],
		['Response type', r.responseType ?? '(none)'],
	];
	$('req-meta').replaceChildren(...meta.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
	$('req-headers').replaceChildren(...r.requestHeaders.map(([n, v]) =>
		h('tr', {}, h('th', { scope: 'row' }, n), h('td', {}, v))));
	$('req-req-body').textContent = bodyText(r.requestBody, requestHeader(r, 'content-type'));
	note('req-req-note', r.requestBodyTruncated, r.bytesIn);
	$('req-resp-body').textContent = bodyText(r.responseBody, r.responseType);
	note('req-resp-note', r.responseBodyTruncated, r.bytesOut);
	$('req-curl').textContent = curlFor(r);
}

function note(id, cut, total) {
	$(id).hidden = !cut;
	$(id).textContent = cut ? `Cut: the emulator keeps the first 4096 bytes of each body (this one had ${total}).` : '';
}

function shq(s) {
	return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

const CURL_SKIP = new Set(['host', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'connection',
	'content-length', 'origin', 'referer', 'cache-control', 'pragma', 'dnt', 'priority', 'cookie', 'expect']);

// An equivalent curl command: the route on this origin, the headers that matter (the token as
// <token>, the MCP key as <key>), and the body as it was kept.
function curlFor(r) {
	const lines = [];
	const ctype = requestHeader(r, 'content-type') ?? '';
	const multipart = ctype.startsWith('multipart/form-data');
	const url = `${ORIGIN}${r.route}${r.query ? `?${r.query}` : ''}`;
	const args = [r.method === 'GET' ? `curl ${shq(url)}` : `curl -X ${r.method} ${shq(url)}`];
	for (const [name, value] of r.requestHeaders) {
		const n = name.toLowerCase();
		if (CURL_SKIP.has(n) || n.startsWith('sec-') || (multipart && n === 'content-type'))
			continue;
		if (n === 'authorization')
			args.push(`-H ${shq('Authorization: Bearer <token>')}`);
		else if (n === 'x-ms-apikey')
			args.push(`-H ${shq('x-ms-apikey: <key>')}`);
		else
			args.push(`-H ${shq(`${name}: ${value}`)}`);
	}
	if (multipart) {
		const m = /name="([^"]*)"; filename="([^"]*)"/.exec(r.requestBody ?? '');
		args.push(`-F ${shq(`${m ? m[1] : 'file'}=@${m ? m[2] : 'FILE'}`)}`);
	} else if (r.requestBody) {
		if (r.requestBodyTruncated)
			lines.push(`# The body below is cut at 4096 bytes (it had ${r.bytesIn}): complete it before running.`);
		args.push(`--data-raw ${shq(r.requestBody)}`);
	}
	lines.push(args.join(' \\\n  '));
	return lines.join('\n');
}

function resetFeed() {
	feed.gen++;
	feed.since = 0;
	feed.items = [];
	feed.dropped = 0;
	feed.selected = null;
	$('req-body').replaceChildren();
	$('req-detail').hidden = true;
	feed.busy = false;
	pollFeed();
}

$('req-identifier').addEventListener('change', resetFeed);
$('req-status').addEventListener('change', resetFeed);
$('req-clear').addEventListener('click', () => {
	// Clear what is shown; keep reading from where the log is now.
	feed.items = [];
	feed.dropped = 0;
	feed.selected = null;
	$('req-body').replaceChildren();
	$('req-detail').hidden = true;
	feedStatus(feedSummary());
});
$('req-pause').addEventListener('click', () => {
	feed.paused = !feed.paused;
	$('req-pause').setAttribute('aria-pressed', String(feed.paused));
	$('req-pause').textContent = feed.paused ? 'Resume' : 'Pause';
	feedStatus(feedSummary());
	pollFeed();
});
$('req-copy-curl').addEventListener('click', () => copyText($('req-curl').textContent, 'the curl command'));
onShow.requests = () => pollFeed();
document.addEventListener('visibilitychange', () => {
	if (!document.hidden)
		pollFeed();
});

// ---- Connect --------------------------------------------------------------------------------

function snippets() {
	const base = ORIGIN;
	const https = base.replace(/^http:/, 'https:');
	return [
		{
			title: 'LangChain',
			text: 'SessionsPythonREPLTool from langchain-azure-dynamic-sessions:',
			code: `from langchain_azure_dynamic_sessions import SessionsPythonREPLTool

tool = SessionsPythonREPLTool(
    pool_management_endpoint="${base}",
    access_token_provider=lambda: "local",
)
print(tool.invoke("6 * 7"))`,
		},
		{
			title: 'Semantic Kernel (Python)',
			text: 'SessionsPythonTool requires https: run the emulator with --tls-cert and --tls-key (README, ' +
				'"HTTPS") and give Python the CA (SSL_CERT_FILE=…/cert.pem); auth_callback returns any string.',
			code: `from semantic_kernel.core_plugins.sessions_python_tool import (
    SessionsPythonTool,
)

async def auth_callback() -> str:
    return "local"

tool = SessionsPythonTool(
    pool_management_endpoint="${https}",
    auth_callback=auth_callback,
)
kernel.add_plugin(tool, plugin_name="SessionsTool")`,
		},
		{
			title: 'Semantic Kernel (.NET)',
			text: 'SessionsPythonPlugin with any token provider:',
			code: `using Microsoft.SemanticKernel.Plugins.Core.CodeInterpreter;

var settings = new SessionsPythonSettings(
    sessionId: Guid.NewGuid().ToString(),
    endpoint: new Uri("${base}"));
kernel.Plugins.AddFromObject(new SessionsPythonPlugin(
    settings, httpClientFactory, () => Task.FromResult("local")));`,
		},
		{
			title: 'AutoGen',
			text: 'ACADynamicSessionsCodeExecutor with a credential whose get_token returns any string:',
			code: `from azure.core.credentials import AccessToken
from autogen_ext.code_executors.azure import (
    ACADynamicSessionsCodeExecutor,
)

class LocalToken:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("local", 4102444800)

executor = ACADynamicSessionsCodeExecutor(
    pool_management_endpoint="${base}",
    credential=LocalToken(),
)`,
		},
		{
			title: 'LlamaIndex',
			text: 'AzureCodeInterpreterToolSpec, with access_token_provider set:',
			code: `from llama_index.tools.azure_code_interpreter import (
    AzureCodeInterpreterToolSpec,
)

spec = AzureCodeInterpreterToolSpec(
    pool_management_endpoint="${base}",
)
spec.access_token_provider = lambda: "local"
print(spec.code_interpreter("6 * 7"))`,
		},
		{
			title: '@llamaindex/azure (npm)',
			text: 'Its python/execute route is served:',
			code: `poolManagementEndpoint: "${base}"`,
		},
		{
			title: 'MCP: VS Code (GitHub Copilot), .vscode/mcp.json',
			mcp: true,
			text: 'The MCP server at /mcp takes the key in x-ms-apikey, not a bearer token. Any non-empty key ' +
				'works unless the emulator runs with --mcp-api-key (then that key).',
			code: `{
  "servers": {
    "sessionpool": {
      "type": "http",
      "url": "${base}/mcp",
      "headers": { "x-ms-apikey": "local" }
    }
  }
}`,
		},
		{
			title: 'Plain HTTP (curl)',
			text: 'Every route, shape, error code and limit: docs/api.md.',
			code: `BASE=${base} V=${API_VERSION}
curl -s -X POST "$BASE/executions?api-version=$V&identifier=demo" \\
  -H 'Authorization: Bearer anything' \\
  -H 'Content-Type: application/json' \\
  -d '{"code":"x = 6\\nx * 7"}'`,
		},
	];
}

function renderConnect() {
	$('connect-base').textContent = ORIGIN;
	$('connect-list').replaceChildren(...snippets().map((s, i) => {
		const titleId = `connect-${i}`;
		return h('section', { class: 'connect-item', 'aria-labelledby': titleId },
			h('div', { class: 'files-head' },
				h('h2', { id: titleId }, s.title),
				h('button', {
					type: 'button', class: 'small', 'aria-label': `Copy the ${s.title} settings`,
					onclick: () => copyText(s.code, `the ${s.title} settings`),
				}, 'Copy')),
			h('p', {}, s.text),
			h('pre', { class: 'code', tabindex: 0, 'aria-labelledby': titleId }, s.code),
			s.mcp ? $('mcp-try-wrap') : null);
	}));
}

// initialize, then tools/list, with the key of the Settings field.
async function tryMcp() {
	const status = $('mcp-try-status');
	status.className = 'status-line';
	status.textContent = 'Calling /mcp…';
	const rpc = async (id, method) => {
		const res = await fetch(`${ORIGIN}/mcp`, {
			method: 'POST',
			headers: { 'Content-Type': 'application/json', 'x-ms-apikey': mcpKey() || 'playground' },
			body: JSON.stringify({ jsonrpc: '2.0', id, method, params: {} }),
		});
		const body = await res.json().catch(() => ({}));
		if (!res.ok || body.error)
			throw new Error(`${res.status}: ${body.error?.message ?? res.statusText}`);
		return body.result;
	};
	try {
		const init = await rpc(1, 'initialize');
		const list = await rpc(2, 'tools/list');
		status.textContent = `Connected to ${init.serverInfo?.name} (MCP ${init.protocolVersion}); tools: ` +
			`${list.tools.map((t) => t.name).join(', ')}.`;
	} catch (e) {
		status.className = 'status-line error';
		status.textContent = `The MCP server refused: ${e.message}. Check the MCP key in Settings.`;
	}
}

$('mcp-try').addEventListener('click', tryMcp);
onShow.connect = renderConnect;

// ---- Start ----------------------------------------------------------------------------------

async function loadHealth() {
	try {
		const res = await fetch(`${ORIGIN}/healthz`, { cache: 'no-store' });
		const hz = await res.json();
		$('health').textContent = `${ORIGIN} · emulator ${hz.version} · Python ${hz.python} · isolation ` +
			`${hz.isolation} · up to ${hz.maxSessions} sessions`;
	} catch {
		$('health').textContent = `${ORIGIN} · health unknown`;
	}
}

newId.value = randomId();
renderPicker();
renderHistory();
const first = location.hash.slice(1);
showTab(tabs.some((t) => t.id === `tab-${first}`) ? first : 'run');
loadHealth();
loadSessions();
