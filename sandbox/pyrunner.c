/* SPDX-License-Identifier: MIT */
/*
 * pyrunner.c: the only file of the zygote that includes Python.h (see pyrunner.h).
 *
 * The session loop keeps SIGINT blocked except while the user code runs (repl.run), so the
 * emulator's interrupt can only land in user code; an interrupt that arrives while the session
 * is idle or building its reply stays pending and is discarded before the next cell with
 * PyErr_CheckSignals() + PyErr_Clear() (sandbox-notes pitfall 9). A shell request keeps SIGINT
 * blocked throughout: the command runs in a process of its own (command.c), and the interrupt is
 * read from a signalfd while waiting for it, never raised as KeyboardInterrupt in the helper; a
 * SIGINT left pending by an earlier request is discarded first. A NULL from the helper is
 * never fatal: the loop answers with a fallback reply and keeps serving. The GIL is released
 * while waiting for a request, so the user's background threads keep running between cells.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "pyrunner.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "jail.h"
#include "repl_src.h"
#include "wire.h"

#define PYR_ID_LEN 16 /* request ids: 16 lowercase hex digits (reply.h SBX_REPLY_ID_LEN) */

static PyObject *repl_run;
static PyObject *repl_finish;
static PyObject *repl_session_init;
static PyObject *repl_hello;
static int64_t *clock_page;

void pyr_set_clock(void *page)
{
	clock_page = page;
}

static PyObject *sbx_mark_start(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	struct timespec ts;
	if (clock_page && clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
		__atomic_store_n(clock_page, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
				 __ATOMIC_RELEASE);
	Py_RETURN_NONE;
}

static PyObject *sbx_fflush(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	fflush(NULL);
	Py_RETURN_NONE;
}

struct wait_ctx {
	PyThreadState *ts; /* the GIL is released while cmd_wait() waits */
	PyObject *on_wait; /* called with the pid while waiting; borrowed */
	pid_t pid;
};

/*
 * cmd_wait()'s question, every CMD_POLL_MS: did a thread of ours take the SIGINT? Meanwhile
 * on_wait(pid) reaps what the command orphaned (we are pid 1: its zombies would otherwise
 * count against the session's process limit until the call ends).
 */
static bool while_waiting(void *ctx)
{
	struct wait_ctx *w = ctx;
	PyEval_RestoreThread(w->ts);
	bool hit = PyOS_InterruptOccurred() != 0;
	if (!hit && w->on_wait != Py_None) {
		PyObject *r = PyObject_CallFunction(w->on_wait, "i", (int)w->pid);
		if (!r && PyErr_ExceptionMatches(PyExc_KeyboardInterrupt))
			hit = true;
		if (!r)
			PyErr_Clear();
		Py_XDECREF(r);
		hit = hit || PyOS_InterruptOccurred() != 0;
	}
	w->ts = PyEval_SaveThread();
	return hit;
}

/*
 * run_command(file: bytes | None, argv: list[bytes], on_wait) -> (exit_code, errno,
 * interrupted, pid): runs a command (command.h) and waits for it with the GIL released, so the
 * session's own threads run on; on_wait(pid) (or None) is called every CMD_POLL_MS while it
 * runs. errno is non-zero when the program could not be started (exit_code is then 127 for
 * ENOENT, else 126, as shells report it; pid is 0). Called with SIGINT blocked (pyrunner's
 * loop keeps it blocked for shell requests).
 */
static PyObject *sbx_run_command(PyObject *self, PyObject *args)
{
	(void)self;
	PyObject *file_obj, *argv_obj, *on_wait;
	if (!PyArg_ParseTuple(args, "OO!O:run_command", &file_obj, &PyList_Type, &argv_obj,
			      &on_wait))
		return NULL;
	if (file_obj != Py_None && !PyBytes_Check(file_obj)) {
		PyErr_SetString(PyExc_TypeError, "file must be bytes or None");
		return NULL;
	}
	if (on_wait != Py_None && !PyCallable_Check(on_wait)) {
		PyErr_SetString(PyExc_TypeError, "on_wait must be callable or None");
		return NULL;
	}
	Py_ssize_t argc = PyList_GET_SIZE(argv_obj);
	if (argc < 1) {
		PyErr_SetString(PyExc_ValueError, "argv is empty");
		return NULL;
	}
	/* A copy of the list: user threads cannot change it under us; its items stay alive. */
	PyObject *items = PySequence_Tuple(argv_obj);
	if (!items)
		return NULL;
	char **argv = PyMem_Calloc((size_t)argc + 1, sizeof(char *));
	if (!argv) {
		Py_DECREF(items);
		return PyErr_NoMemory();
	}
	for (Py_ssize_t i = 0; i < argc; i++) {
		PyObject *a = PyTuple_GET_ITEM(items, i);
		if (!PyBytes_Check(a) ||
		    (Py_ssize_t)strlen(PyBytes_AS_STRING(a)) != PyBytes_GET_SIZE(a)) {
			PyErr_SetString(PyExc_ValueError, "argv items must be bytes without NUL");
			PyMem_Free(argv);
			Py_DECREF(items);
			return NULL;
		}
		argv[i] = PyBytes_AS_STRING(a);
	}
	const char *file = file_obj == Py_None ? argv[0] : PyBytes_AS_STRING(file_obj);
	if (file_obj != Py_None && (Py_ssize_t)strlen(file) != PyBytes_GET_SIZE(file_obj)) {
		PyErr_SetString(PyExc_ValueError, "file must not contain NUL");
		PyMem_Free(argv);
		Py_DECREF(items);
		return NULL;
	}

	/* Spawned with the GIL held: environ is not changed by another thread meanwhile. */
	fflush(NULL);
	pid_t pid;
	int r = cmd_spawn(file, argv, &pid);
	PyMem_Free(argv);
	Py_DECREF(items);
	if (r < 0)
		return Py_BuildValue("(iiOi)", r == -ENOENT ? 127 : 126, -r, Py_False, 0);

	struct cmd_status st = {0};
	struct wait_ctx w = {.on_wait = on_wait, .pid = pid};
	w.ts = PyEval_SaveThread();
	cmd_wait(pid, while_waiting, &w, &st);
	PyEval_RestoreThread(w.ts);
	return Py_BuildValue("(iiOi)", st.exit_code, 0, st.interrupted ? Py_True : Py_False,
			     (int)pid);
}

static PyMethodDef sbx_methods[] = {
    {"fflush", sbx_fflush, METH_NOARGS, "fflush(NULL): flush C stdio buffers."},
    {"mark_start", sbx_mark_start, METH_NOARGS, "Records that user code starts now."},
    {"run_command", sbx_run_command, METH_VARARGS,
     "run_command(file, argv, on_wait) -> (exit_code, errno, interrupted, pid): runs a "
     "command."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sbx_module = {
    PyModuleDef_HEAD_INIT,
    "_sbx",
    "sessionpool zygote internals",
    -1,
    sbx_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

static PyObject *sbx_module_init(void)
{
	return PyModule_Create(&sbx_module);
}

/* "Type: message" of the pending Python exception, which is cleared. */
static void py_error_text(char *buf, size_t n)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	const char *name = type ? ((PyTypeObject *)type)->tp_name : "error";
	PyObject *s = value ? PyObject_Str(value) : NULL;
	const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
	snprintf(buf, n, "%s: %s", name, msg ? msg : "(no message)");
	Py_XDECREF(s);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	PyErr_Clear();
}

static PyObject *helper(PyObject *mod, const char *name, struct sp_err *err)
{
	PyObject *f = PyObject_GetAttrString(mod, name);
	if (!f) {
		char text[200];
		py_error_text(text, sizeof(text));
		sp_err_set(err, -EINVAL, "REPL helper %s: %s", name, text);
	}
	return f;
}

int pyr_init(struct sp_err *err)
{
	PyConfig config;
	PyStatus status;
	char text[512];

	if (PyImport_AppendInittab("_sbx", sbx_module_init) < 0)
		return sp_err_set(err, -ENOMEM, "PyImport_AppendInittab failed");
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0;
	config.install_signal_handlers = 1;
	config.use_environment = 0;
	config.user_site_directory = 0;
	config.write_bytecode = 0;
	/* Makes sys.executable the system interpreter, so subprocess and multiprocessing work. */
	status = PyConfig_SetBytesString(&config, &config.program_name, "/usr/bin/python3");
	if (!PyStatus_Exception(status))
		status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status))
		return sp_err_set(err, -EINVAL, "Python initialisation failed: %s",
				  status.err_msg ? status.err_msg : "unknown error");

	PyObject *code =
	    Py_CompileString((const char *)sbx_repl_src, "<sessionpool-repl>", Py_file_input);
	if (!code) {
		py_error_text(text, sizeof(text));
		return sp_err_set(err, -EINVAL, "compiling the REPL helper: %s", text);
	}
	PyObject *mod = PyImport_ExecCodeModuleEx("_sessionpool_repl", code, "<sessionpool-repl>");
	Py_DECREF(code);
	if (!mod) {
		py_error_text(text, sizeof(text));
		return sp_err_set(err, -EINVAL, "loading the REPL helper: %s", text);
	}
	repl_run = helper(mod, "run", err);
	repl_finish = repl_run ? helper(mod, "finish", err) : NULL;
	repl_session_init = repl_finish ? helper(mod, "session_init", err) : NULL;
	repl_hello = repl_session_init ? helper(mod, "hello", err) : NULL;
	PyObject *init = repl_hello ? helper(mod, "init", err) : NULL;
	Py_DECREF(mod);
	if (!init)
		return err ? err->code : -EINVAL;
	PyObject *r = PyObject_CallNoArgs(init);
	Py_DECREF(init);
	if (!r) {
		py_error_text(text, sizeof(text));
		return sp_err_set(err, -EINVAL, "preloading the scientific stack: %s", text);
	}
	Py_DECREF(r);
	return 0;
}

char *pyr_hello(struct sp_err *err)
{
	char text[512];
	PyObject *r = PyObject_CallNoArgs(repl_hello);
	const char *s = r ? PyUnicode_AsUTF8(r) : NULL;
	if (!s) {
		py_error_text(text, sizeof(text));
		sp_err_set(err, -EINVAL, "listing the installed packages: %s", text);
		Py_XDECREF(r);
		return NULL;
	}
	char *copy = strdup(s);
	Py_DECREF(r);
	if (!copy)
		sp_err_set(err, -ENOMEM, "out of memory");
	return copy;
}

void pyr_before_fork(void)
{
	fflush(NULL);
	PyOS_BeforeFork();
}

void pyr_after_fork_parent(void)
{
	PyOS_AfterFork_Parent();
}

void pyr_after_fork_child(void)
{
	PyOS_AfterFork_Child();
}

/* Calls repl.finish(state) and returns the reply bytes; never NULL. */
static PyObject *finish_reply(PyObject *state)
{
	static const char fallback[] =
	    "{\"op\":\"result\",\"status\":\"exception\",\"kind\":\"none\",\"value\":null,"
	    "\"ename\":\"SystemError\",\"error\":\"SystemError: the REPL helper failed\","
	    "\"traceback\":\"\",\"exec_us\":0}";

	for (int attempt = 0; attempt < 2; attempt++) {
		PyObject *r = PyObject_CallOneArg(repl_finish, state);
		if (r && PyBytes_Check(r))
			return r;
		Py_XDECREF(r);
		PyErr_Clear();
	}
	return PyBytes_FromStringAndSize(fallback, sizeof(fallback) - 1);
}

int pyr_session_prepare(bool warm_up, struct sp_err *err)
{
	sigset_t intr;
	char text[400];

	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	sigprocmask(SIG_BLOCK, &intr, NULL);
	PyObject *r = PyObject_CallOneArg(repl_session_init, warm_up ? Py_True : Py_False);
	if (!r) {
		py_error_text(text, sizeof(text));
		return sp_err_set(err, -EINVAL, "session start-up failed: %s", text);
	}
	Py_DECREF(r);
	return 0;
}

enum request_op { REQ_OTHER, REQ_EXEC, REQ_SHELL };

/* The operation and request id, which the client writes at a fixed place ({"op":"exec","id":
 * "…",…} for a cell, {"op":"shell","id":"…",…} for a command); id "" if the frame has none. */
static enum request_op request_head(const char *req, size_t len, char id[PYR_ID_LEN + 1])
{
	static const struct {
		const char *head;
		enum request_op op;
	} heads[] = {{SBX_EXEC_HEAD, REQ_EXEC}, {SBX_SHELL_HEAD, REQ_SHELL}};
	enum request_op op = REQ_OTHER;
	size_t h = 0;

	id[0] = '\0';
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]) && op == REQ_OTHER; i++) {
		h = strlen(heads[i].head);
		if (len >= h && memcmp(req, heads[i].head, h) == 0)
			op = heads[i].op;
	}
	if (op == REQ_OTHER)
		return REQ_OTHER;
	if (len < h + PYR_ID_LEN + 1 || req[h + PYR_ID_LEN] != '"')
		return op;
	for (size_t i = 0; i < PYR_ID_LEN; i++) {
		char c = req[h + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return op;
	}
	memcpy(id, req + h, PYR_ID_LEN);
	id[PYR_ID_LEN] = '\0';
	return op;
}

/* Discards a SIGINT left pending (blocked) by an earlier request, which would otherwise
 * interrupt this command at once. */
static void drop_pending_sigint(const sigset_t *intr)
{
	static const struct timespec zero = {0, 0};
	while (sigtimedwait(intr, NULL, &zero) == SIGINT)
		;
}

/*
 * Sends |reply| (a JSON object from repl.finish) with "id" as its first member. Only the session
 * interpreter answers: a process forked by user code (os.fork, a raw fork through ctypes, …)
 * that comes back here has finished the cell too, and leaves without a word.
 */
static int send_reply(int sock, pid_t self, const char *id, const char *data, size_t size)
{
	if (getpid() != self)
		_exit(0);
	if (!id[0] || size < 2 || data[0] != '{' || data[1] == '}')
		return sbx_frame_send(sock, data, size);
	char head[8 + PYR_ID_LEN + 3];
	int n = snprintf(head, sizeof(head), "{\"id\":\"%s\",", id);
	char *buf = malloc((size_t)n + size - 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, head, (size_t)n);
	memcpy(buf + n, data + 1, size - 1);
	int r = sbx_frame_send(sock, buf, (size_t)n + size - 1);
	free(buf);
	return r;
}

void pyr_session_main(int sock)
{
	sigset_t intr;
	const pid_t self = getpid();
	char id[PYR_ID_LEN + 1];

	sigemptyset(&intr);
	sigaddset(&intr, SIGINT);
	sigprocmask(SIG_BLOCK, &intr, NULL);
	static const char ready[] = "{\"op\":\"ready\"}";
	if (sbx_frame_send(sock, ready, sizeof(ready) - 1) < 0)
		_exit(0);

	for (;;) {
		char *req = NULL;
		size_t len = 0;
		int rc;

		PyThreadState *ts = PyEval_SaveThread();
		rc = sbx_frame_recv(sock, &req, &len);
		PyEval_RestoreThread(ts);
		if (rc < 0)
			_exit(0);
		enum request_op op = request_head(req, len, id);
		PyObject *frame = PyBytes_FromStringAndSize(req, (Py_ssize_t)len);
		free(req);
		if (!frame) {
			PyErr_Clear();
			_exit(JAIL_EXIT_PYTHON);
		}

		/* A command runs with SIGINT blocked here: cmd_wait() takes the interrupt. */
		if (op == REQ_SHELL)
			drop_pending_sigint(&intr);
		else
			sigprocmask(SIG_UNBLOCK, &intr, NULL);
		if (PyErr_CheckSignals() < 0)
			PyErr_Clear();
		PyObject *state = PyObject_CallOneArg(repl_run, frame);
		if (!state)
			PyErr_Clear();
		sigprocmask(SIG_BLOCK, &intr, NULL);
		if (PyErr_CheckSignals() < 0)
			PyErr_Clear();
		Py_DECREF(frame);

		PyObject *reply = finish_reply(state ? state : Py_None);
		Py_XDECREF(state);
		if (!reply)
			_exit(JAIL_EXIT_PYTHON);
		const char *data = PyBytes_AS_STRING(reply);
		size_t size = (size_t)PyBytes_GET_SIZE(reply);
		ts = PyEval_SaveThread();
		rc = send_reply(sock, self, id, data, size);
		PyEval_RestoreThread(ts);
		Py_DECREF(reply);
		if (rc < 0)
			_exit(0);
	}
}
