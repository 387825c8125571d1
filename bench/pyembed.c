/* SPDX-License-Identifier: MIT */
/*
 * pyembed.c: bench-pyembed CODE [ARG...], runs Python CODE (sys.argv = ['-c', ARG...]) in
 * libpython3 embedded the way the zygote embeds it (sandbox/pyrunner.c), with no sandbox at
 * all. bench-sandbox -w compares sessions with it, so that the sandbox's own cost is not mixed
 * up with that of the shared, position-independent libpython (Debian's /usr/bin/python3 links
 * the interpreter statically and runs pure-Python code about 25 % faster).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

int main(int argc, char **argv)
{
	PyConfig config;
	PyStatus status;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CODE [ARG...]\n", argv[0]);
		return 2;
	}
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0;
	config.use_environment = 0;
	config.user_site_directory = 0;
	config.write_bytecode = 0;
	char *args[64] = {"-c"};
	int n = 1;
	for (int i = 2; i < argc && n < 64; i++)
		args[n++] = argv[i];
	status = PyConfig_SetBytesString(&config, &config.program_name, "/usr/bin/python3");
	if (!PyStatus_Exception(status))
		status = PyConfig_SetBytesArgv(&config, n, args);
	if (!PyStatus_Exception(status))
		status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status)) {
		fprintf(stderr, "bench-pyembed: %s\n", status.err_msg ? status.err_msg : "error");
		return 1;
	}
	int r = PyRun_SimpleString(argv[1]);
	if (Py_FinalizeEx() < 0)
		r = 1;
	return r ? 1 : 0;
}
