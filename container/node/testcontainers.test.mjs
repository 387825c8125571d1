// SPDX-License-Identifier: MIT
// Testcontainers for Node against the sessionpool image, as a user's test suite would use it:
// start the image, wait for GET /healthz, then one execution and one upload/download through the
// mapped port. The image comes from SESSIONPOOL_IMAGE (container/test.sh builds it).
// Also the recipe in docs/container.md.
import assert from "node:assert/strict";
import { GenericContainer, Wait } from "testcontainers";

const image = process.env.SESSIONPOOL_IMAGE ?? "sessionpool:latest";
const api = "api-version=2024-02-02-preview";
const auth = { Authorization: "Bearer local" };

const container = await new GenericContainer(image)
	.withExposedPorts(8080)
	.withWaitStrategy(Wait.forHttp("/healthz", 8080).forStatusCode(200))
	.withStartupTimeout(120_000)
	.start();
try {
	const pool = `http://${container.getHost()}:${container.getMappedPort(8080)}`;
	const id = `node-${process.pid}`;

	const health = await (await fetch(`${pool}/healthz`)).json();
	assert.equal(health.status, "ok");

	const exec = await fetch(`${pool}/code/execute?${api}&identifier=${id}`, {
		method: "POST",
		headers: { ...auth, "Content-Type": "application/json" },
		body: JSON.stringify({
			properties: { codeInputType: "inline", executionType: "synchronous", code: "x = 6\nx * 7" },
		}),
	});
	assert.equal(exec.status, 200);
	const result = await exec.json();
	assert.equal(result.properties.status, "Success");
	assert.equal(result.properties.result, 42);

	const content = `hello from node ${process.pid}\n`;
	const form = new FormData();
	form.append("file", new Blob([content], { type: "text/plain" }), "hello.txt");
	const up = await fetch(`${pool}/files/upload?${api}&identifier=${id}`, {
		method: "POST",
		headers: auth,
		body: form,
	});
	assert.equal(up.status, 200, await up.clone().text());

	const down = await fetch(`${pool}/files/content/hello.txt?${api}&identifier=${id}`, { headers: auth });
	assert.equal(down.status, 200);
	assert.equal(await down.text(), content);

	// The session sees the uploaded file in /mnt/data.
	const read = await fetch(`${pool}/code/execute?${api}&identifier=${id}`, {
		method: "POST",
		headers: { ...auth, "Content-Type": "application/json" },
		body: JSON.stringify({ properties: { code: "print(open('/mnt/data/hello.txt').read(), end='')" } }),
	});
	assert.equal((await read.json()).properties.stdout, content);
	console.log(`testcontainers (node): ok, ${pool}, isolation ${health.isolation}`);
} finally {
	await container.stop();
}
