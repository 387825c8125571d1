// SPDX-License-Identifier: MIT
// The emulator for the node:test suites (tests/mcp-sdk, tests/playground): run.sh copies this file
// beside the test into its work directory, where the test imports it as './emulator.mjs'.
//
// startEmulator starts the binary named by SESSIONPOOL_EMULATOR in its own process group, on an
// ephemeral port with a ready file and a data directory in a fresh temporary directory, and
// resolves once the ready file names its base URL. stopEmulators sends each SIGTERM, and each must
// exit 0 within 20 s (SIGKILL to its process group otherwise). Every emulator started is killed
// with its process group however this process ends. A test registered with check that fails has
// the emulators' logs printed when they are stopped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

// Every emulator started, in order: { proc, dir, base, exit }.
const emus = [];
// Whether a test registered with check failed.
let failed = false;

// Registers the test |name| with |timeout| ms; when |fn| fails, the failure is recorded and
// |onFailure|(name), when given, runs before the error is passed on (the playground's screenshot).
export function check(name, timeout, fn, onFailure) {
	test(name, { timeout }, async (t) => {
		try {
			await fn(t);
		} catch (e) {
			failed = true;
			if (onFailure)
				await onFailure(name);
			throw e;
		}
	});
}

function killGroup(e, signal) {
	if (e.proc && e.exit === null) {
		try {
			process.kill(-e.proc.pid, signal);
		} catch {
			// already gone
		}
	}
}

process.on('exit', () => emus.forEach((e) => killGroup(e, 'SIGKILL')));

// The emulator's stdout and stderr so far.
export function emulatorLog(e) {
	try {
		return readFileSync(join(e.dir, 'emulator.log'), 'utf8');
	} catch {
		return '(no emulator.log)';
	}
}

// Starts the emulator with |args| on an ephemeral port, in a temporary directory named after
// |name|; resolves to { proc, dir, base, exit } once its ready file names its URL (within 60 s).
export async function startEmulator(name, args) {
	const bin = process.env.SESSIONPOOL_EMULATOR;
	if (!bin)
		throw new Error('SESSIONPOOL_EMULATOR must name the emulator binary (ctest sets it)');
	const e = { proc: null, dir: await mkdtemp(join(tmpdir(), `sp-${name}-`)), base: null, exit: null };
	emus.push(e);
	const ready = join(e.dir, 'ready');
	const log = openSync(join(e.dir, 'emulator.log'), 'w');
	e.proc = spawn(bin, ['--listen', '127.0.0.1:0', '--ready-file', ready, '--data-dir', join(e.dir, 'data'), ...args],
		{ detached: true, stdio: ['ignore', log, log] });
	closeSync(log);
	e.proc.on('exit', (code, signal) => {
		e.exit = { code, signal };
	});
	// Ready when the ready file holds a complete first line (the base URL).
	const deadline = Date.now() + 60_000;
	for (;;) {
		const text = await readFile(ready, 'utf8').catch(() => '');
		const nl = text.indexOf('\n');
		if (nl > 0) {
			e.base = text.slice(0, nl).trim();
			return e;
		}
		if (e.exit !== null)
			throw new Error(`the emulator exited before it was ready (${JSON.stringify(e.exit)}):\n${emulatorLog(e)}`);
		if (Date.now() > deadline)
			throw new Error(`the emulator was not ready within 60 s:\n${emulatorLog(e)}`);
		await sleep(20);
	}
}

// SIGTERM; it must exit 0 within 20 s. Its log is printed when it did not or a test failed; its
// directory is removed.
async function stopEmulator(e) {
	if (!e.proc)
		return;
	const exited = new Promise((resolve) => {
		if (e.exit !== null)
			resolve();
		else
			e.proc.once('exit', () => resolve());
	});
	killGroup(e, 'SIGTERM');
	const timer = new AbortController();
	const inTime = await Promise.race([
		exited.then(() => true),
		sleep(20_000, false, { signal: timer.signal }).catch(() => false),
	]);
	timer.abort();
	if (!inTime) {
		killGroup(e, 'SIGKILL');
		await exited;
	}
	// Whatever it left in its process group.
	try {
		process.kill(-e.proc.pid, 'SIGKILL');
	} catch {
		// nothing left
	}
	const clean = inTime && e.exit.code === 0;
	if (failed || !clean)
		process.stderr.write(`---- emulator.log ----\n${emulatorLog(e)}---- end of log ----\n`);
	await rm(e.dir, { recursive: true, force: true });
	assert.ok(clean, `the emulator must exit 0 on SIGTERM, got ${JSON.stringify(e.exit)}${inTime ? '' : ' (killed after 20 s)'}`);
}

// stopEmulator on every emulator started, in order, also those whose start failed.
export async function stopEmulators() {
	for (const e of emus)
		await stopEmulator(e);
}
