// SPDX-License-Identifier: MIT
// The official MCP TypeScript SDK client (@modelcontextprotocol/sdk, pinned in package-lock.json)
// over streamable HTTP against the emulator's POST {base}/mcp (contract §13, issue 11).
//
// It starts the emulator binary named by SESSIONPOOL_EMULATOR itself (tests/node/emulator.mjs), on
// an ephemeral port with a ready file, with --mcp-api-key set, and stops it with SIGTERM at the end
// (SIGKILL to its process group if that fails, and on any exit of this process); the emulator must
// exit 0, as in the C integration harness. The tests run in order and share one client and one
// environment.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
	StreamableHTTPClientTransport,
	StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { check as checkTest, startEmulator, stopEmulators } from './emulator.mjs';

const KEY = 'sdk-test-key';
const TOOLS = [
	'launchShell',
	'runPythonCodeInRemoteEnvironment',
	'runShellCommandInRemoteEnvironment',
];
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STEP_MS = 60_000;

let emu = null; // the emulator, started by before()
let client = null;
let transport = null;
let env = null; // the environmentId launchShell gave

// Registers a test whose failure has after() show the emulator's log.
function check(name, fn) {
	checkTest(name, STEP_MS, fn);
}

function newTransport(key) {
	const headers = key === undefined ? {} : { 'x-ms-apikey': key };
	return new StreamableHTTPClientTransport(new URL(`${emu.base}/mcp`), { requestInit: { headers } });
}

function newClient() {
	return new Client({ name: 'sessionpool-mcp-sdk-test', version: '1.0.0' });
}

async function call(name, args) {
	return client.callTool({ name, arguments: args });
}

async function python(code) {
	return call('runPythonCodeInRemoteEnvironment', { environmentId: env, pythonCode: code });
}

async function shell(args) {
	return call('runShellCommandInRemoteEnvironment', { environmentId: env, ...args });
}

// A successful tool result: not isError, and the text content a model would read.
function assertOk(res, what) {
	assert.notEqual(res.isError, true, `${what}: isError (${JSON.stringify(res)})`);
	assert.equal(res.content?.[0]?.type, 'text', `${what}: content[0] is text (${JSON.stringify(res)})`);
}

before(async () => {
	emu = await startEmulator('mcp-sdk', ['--mcp-api-key', KEY]);
});

after(async () => {
	if (client)
		await client.close().catch(() => {});
	await stopEmulators();
});

check('connect: server info, negotiated protocol version, tools capability, ping', async () => {
	transport = newTransport(KEY);
	client = newClient();
	await client.connect(transport);
	const info = client.getServerVersion();
	assert.equal(info?.name, 'Microsoft Container Apps MCP Server');
	assert.equal(typeof info.version, 'string');
	assert.ok(info.version.length > 0, 'serverInfo.version is not empty');
	// The SDK offers its newest version; the emulator serves 2025-03-26 only and the SDK accepts it.
	assert.equal(transport.protocolVersion, '2025-03-26');
	assert.ok(client.getServerCapabilities()?.tools, 'capabilities.tools');
	assert.deepEqual(await client.ping(), {});
});

check('tools/list: exactly the three tools, each with a description and an object schema', async () => {
	const { tools } = await client.listTools();
	assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
	for (const t of tools) {
		assert.equal(typeof t.description, 'string', `${t.name}.description`);
		assert.ok(t.description.length > 0, `${t.name}.description is not empty`);
		assert.equal(t.inputSchema.type, 'object', `${t.name}.inputSchema.type`);
	}
	const py = tools.find((t) => t.name === 'runPythonCodeInRemoteEnvironment');
	assert.deepEqual([...py.inputSchema.required].sort(), ['environmentId', 'pythonCode']);
	const sh = tools.find((t) => t.name === 'runShellCommandInRemoteEnvironment');
	for (const p of ['environmentId', 'shellCommand', 'execCommandAndArgs'])
		assert.ok(sh.inputSchema.properties?.[p], `runShellCommandInRemoteEnvironment has ${p}`);
});

check('launchShell gives a GUID environmentId', async () => {
	const res = await call('launchShell', {});
	assertOk(res, 'launchShell');
	env = res.structuredContent?.environmentId;
	assert.match(String(env), GUID);
	assert.ok(res.content[0].text.includes(env), 'the text content names the environment');
});

check('Python runs twice in the environment with its state kept', async () => {
	let res = await python('x = 6\nprint("hello from mcp")');
	assertOk(res, 'first run');
	assert.equal(res.structuredContent.status, 'Succeeded');
	assert.equal(res.structuredContent.stdout, 'hello from mcp\n');
	assert.equal(res.structuredContent.stderr, '');
	assert.ok(res.content[0].text.includes('hello from mcp'), 'stdout in the text content');

	res = await python('x * 7');
	assertOk(res, 'second run');
	assert.equal(res.structuredContent.status, 'Succeeded');
	assert.equal(res.structuredContent.executionResult, 42);
	assert.ok(res.content[0].text.includes('42'), 'the value in the text content');
});

check('a failing Python cell is a tool error with the traceback in stderr', async () => {
	const res = await python('1 / 0');
	assert.equal(res.isError, true);
	assert.equal(res.structuredContent.status, 'Failed');
	assert.match(res.structuredContent.stderr, /ZeroDivisionError/);
});

check('shell: shellCommand through /bin/sh in /mnt/data, execCommandAndArgs without a shell', async () => {
	let res = await shell({ shellCommand: 'echo "$((6 * 7))" && pwd' });
	assertOk(res, 'shellCommand');
	assert.deepEqual(res.structuredContent, { stdout: '42\n/mnt/data\n', stderr: '', exitCode: 0 });

	res = await shell({ execCommandAndArgs: ['printf', '%s|', 'a b', '$HOME', '*'] });
	assertOk(res, 'execCommandAndArgs');
	assert.deepEqual(res.structuredContent, { stdout: 'a b|$HOME|*|', stderr: '', exitCode: 0 });

	res = await shell({ shellCommand: 'echo oops >&2; exit 3' });
	assert.equal(res.isError, true, 'a non-zero exit code is a tool error');
	assert.deepEqual(res.structuredContent, { stdout: '', stderr: 'oops\n', exitCode: 3 });
});

check('a file written by Python is read by the shell, and the other way round', async () => {
	let res = await python("with open('from_python.txt', 'w') as f:\n    f.write('written by python\\n')");
	assertOk(res, 'Python write');
	res = await shell({ execCommandAndArgs: ['cat', '/mnt/data/from_python.txt'] });
	assertOk(res, 'shell read');
	assert.equal(res.structuredContent.stdout, 'written by python\n');

	res = await shell({ shellCommand: 'echo written by sh > from_shell.txt' });
	assertOk(res, 'shell write');
	res = await python("print(open('/mnt/data/from_shell.txt').read(), end='')");
	assertOk(res, 'Python read');
	assert.equal(res.structuredContent.stdout, 'written by sh\n');
});

check('the environment is a REST session: an uploaded file is seen by Python, and back', async () => {
	const q = `api-version=2025-10-02-preview&identifier=${encodeURIComponent(env)}`;
	const form = new FormData();
	form.append('file', new Blob(['uploaded through REST\n']), 'rest.txt');
	let r = await fetch(`${emu.base}/files?${q}`, {
		method: 'POST',
		headers: { Authorization: 'Bearer x' },
		body: form,
	});
	const text = await r.text();
	assert.equal(r.status, 200, `POST files: ${text}`);
	const meta = JSON.parse(text);
	assert.equal(meta.name, 'rest.txt');
	assert.equal(meta.sizeInBytes, 22);

	const res = await python("print(open('/mnt/data/rest.txt').read(), end='')");
	assertOk(res, 'Python read of the upload');
	assert.equal(res.structuredContent.stdout, 'uploaded through REST\n');

	r = await fetch(`${emu.base}/files/from_python.txt/content?${q}`, {
		headers: { Authorization: 'Bearer x' },
	});
	assert.equal(r.status, 200);
	assert.equal(await r.text(), 'written by python\n');
});

check('an unknown environment is a tool error that says to call launchShell', async () => {
	const unknown = randomUUID();
	const res = await call('runPythonCodeInRemoteEnvironment', { environmentId: unknown, pythonCode: '1' });
	assert.equal(res.isError, true, JSON.stringify(res));
	assert.equal(res.content?.[0]?.type, 'text');
	assert.match(res.content[0].text, /not found/i);
	assert.match(res.content[0].text, /launchShell/);
	assert.equal(res.structuredContent?.error?.code, 'EnvironmentNotFound');
});

check('a wrong or missing x-ms-apikey fails to connect with 401', async () => {
	for (const key of ['wrong-key', undefined]) {
		const c = newClient();
		const err = await c.connect(newTransport(key)).then(
			() => null,
			(e) => e,
		);
		await c.close().catch(() => {});
		const what = key === undefined ? 'no key' : `key ${key}`;
		assert.ok(err instanceof StreamableHTTPError, `${what}: a StreamableHTTPError, got ${err}`);
		assert.equal(err.code, 401, `${what}: HTTP 401 (${err.message})`);
		assert.match(err.message, /-32001/, `${what}: the JSON-RPC error body`);
	}
});
