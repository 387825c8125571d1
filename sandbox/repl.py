# SPDX-License-Identifier: MIT
"""The in-session REPL helper, embedded in sessionpool-zygote at build time.

pyrunner.c drives it:

  init()            once in the zygote: preload, warm up, patches, then gc.freeze()
  hello()           once in the zygote: JSON {"version", "packages"}
  session_init(w)   once per session process, on standby: streams, environment, reseed,
                    __main__ (and a warm-up cell)
  run(frame)        per request, SIGINT deliverable: parses the request and runs the cell
  finish(state)     per request, SIGINT blocked: flush, reap, build the reply (bytes)

Execution semantics are those of api-contract §8.1-§8.5: the cell is parsed as "<cell>" with
top-level await allowed; a trailing expression is evaluated on its own (IPython style) unless
the cell ends with ';'; its value is classified NONE / NULL / JSON / TEXT per §8.2, or IMAGE
when matplotlib rendered a PNG during the cell (§8.3). Output goes to file descriptors 1 and 2
(pipes drained by the client); tracebacks travel in the reply and the client appends them.
"""

import ast
import base64
import builtins
import errno
import importlib.util
import io
import json
import math
import os
import re
import sys
import time
import tokenize
import traceback
import types

import _sbx

_FILE = __file__
_CELL = "<cell>"
_TLA = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE

_out = None  # our block-buffered writers on fds 1 and 2
_err = None
_gates = ()  # the _Gate under each of them
_in = None  # sys.stdin of a session
_ns = None  # the __main__ namespace of the session
_loop = None  # asyncio loop for top-level await, created on first use
_images = []  # PNG bytes rendered during the current cell
_direct = set()  # pids of our own children (their owners reap them, not us)
_pretty = None
_transformer = None  # IPython's TransformerManager: notebook syntax -> Python (§8.1)
_shell = None  # the session's InteractiveShell, made by the first get_ipython() call
_find_links = None  # the session's path of the --pip-find-links directory, or None
# Where %pip install (and !pip install) puts packages: the user site of HOME=/tmp, on the
# session's tmpfs, so it is gone with the session (and with a restarted interpreter).
_USER_BASE = "/tmp/.local"
_USER_SITE = "%s/lib/python%d.%d/site-packages" % ((_USER_BASE,) + sys.version_info[:2])


def _flush():
    """Flushes our writers and C stdio, so output keeps its order across forks and execs."""
    for s in (_out, _err):
        if s is not None:
            try:
                s.flush()
            except Exception:
                pass
    _sbx.fflush()


class _Gate(io.RawIOBase):
    """The raw layer under sys.stdout and sys.stderr: writes reach the pipe only while a cell
    runs. §8.4: output produced between cells is discarded, including what a background thread
    left in the 64 KiB buffer above us, or wrote through a reference it kept (a logging
    handler's stream). Called once per buffer flush, so being Python costs nothing measurable.
    """

    def __init__(self, fd, name):
        super().__init__()
        self._fd = fd
        self.name = name
        self.open = False

    def writable(self):
        return True

    def fileno(self):
        return self._fd

    def isatty(self):
        return False

    def write(self, b):
        if not self.open:
            return len(b)
        return os.write(self._fd, b)


def _streams_open():
    """At the start of a cell: what was buffered between cells goes nowhere, then the pipes."""
    _flush()
    for g in _gates:
        g.open = True


def _streams_close():
    """At the end of a cell: everything the cell wrote goes to the pipes, later writes nowhere."""
    _flush()
    for g in _gates:
        g.open = False


def _copy_meta(wrapper, fn):
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = getattr(fn, "__qualname__", fn.__name__)
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


def _flushing(fn):
    def wrapper(*args, **kwargs):
        _flush()
        return fn(*args, **kwargs)

    return _copy_meta(wrapper, fn)


def _tracking(fn, pid_of):
    def wrapper(*args, **kwargs):
        _flush()
        result = fn(*args, **kwargs)
        pid = pid_of(result)
        if pid:
            _direct.add(pid)
        return result

    return _copy_meta(wrapper, fn)


def _patch_process_functions():
    import _posixsubprocess

    import subprocess

    _posixsubprocess.fork_exec = _tracking(_posixsubprocess.fork_exec, lambda r: r)
    # subprocess keeps its own reference (from _posixsubprocess import fork_exec as _fork_exec).
    if getattr(subprocess, "_fork_exec", None) is not None:
        subprocess._fork_exec = _posixsubprocess.fork_exec
    os.posix_spawn = _tracking(os.posix_spawn, lambda r: r)
    os.posix_spawnp = _tracking(os.posix_spawnp, lambda r: r)
    os.fork = _tracking(os.fork, lambda r: r)
    os.forkpty = _tracking(os.forkpty, lambda r: r[0])
    os.system = _flushing(os.system)
    os.execv = _flushing(os.execv)
    os.execve = _flushing(os.execve)
    os.register_at_fork(before=_flush)


def _render_figures():
    """Renders every open figure, in figure-number order, to PNG and closes it."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    from matplotlib._pylab_helpers import Gcf

    for num in sorted(plt.get_fignums()):
        manager = Gcf.get_fig_manager(num)
        if manager is None:
            continue
        fig = manager.canvas.figure
        buf = io.BytesIO()
        try:
            fig.savefig(buf, format="png", bbox_inches="tight")
        finally:
            plt.close(fig)
        _images.append(buf.getvalue())


def _close_figures():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:
            pass


def _patch_pyplot():
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None or getattr(plt.show, "_sessionpool", False):
        return

    def show(*args, **kwargs):
        _render_figures()

    show._sessionpool = True
    show.__doc__ = plt.show.__doc__
    plt.show = show


def _suppressed(src):
    """True when the last token of the cell (comments and blank lines aside) is ';'."""
    if ";" not in src:
        return False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(src).readline))
    except Exception:
        return False
    skip = (
        tokenize.ENDMARKER,
        tokenize.NEWLINE,
        tokenize.NL,
        tokenize.COMMENT,
        tokenize.INDENT,
        tokenize.DEDENT,
    )
    for tok in reversed(tokens):
        if tok.type in skip:
            continue
        return tok.type == tokenize.OP and tok.string == ";"
    return False


def _event_loop():
    global _loop
    import asyncio

    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_loop)
    return _loop


def _eval(code):
    if code.co_flags & _CO_COROUTINE:
        return _event_loop().run_until_complete(eval(code, _ns))
    return eval(code, _ns)


def _parse_python(src):
    return compile(src, _CELL, "exec", ast.PyCF_ONLY_AST | _TLA, dont_inherit=True)


def _parse(src):
    """(tree, source, notebook): the cell parsed as Python when it is Python (the transform is
    then the identity, §8.1), else as IPython's input transformer rewrites it (!cmd, %magic,
    %%cell magic, leading indentation, >>> prompts). When the rewrite does not parse either,
    the error reported is that of the rewrite if it called get_ipython(), else the cell's own.
    """
    if "\0" in src:
        raise SyntaxError("source code string cannot contain null bytes")
    error = None
    try:
        return _parse_python(src), src, False
    except SyntaxError as e:
        error = e
    code = None
    try:
        code = _transformer.transform_cell(src)
    except Exception:
        pass
    if code is not None and code != src:
        try:
            return _parse_python(code), code, True
        except SyntaxError as e:
            if "get_ipython()" in code and "get_ipython()" not in src:
                error = e
    raise error


def _get_ipython():
    """get_ipython() for the cells the transformer rewrote: the session's shell, made once."""
    global _shell
    if _shell is None:
        _shell = _make_shell()
    return _shell


def _matplotlib_magic(line=""):
    """%matplotlib [gui]: accepted whatever the backend name; the session keeps Agg and figures
    come back as the cell's image (§8.3), which is what %matplotlib inline means."""


def _make_shell():
    """IPython's own InteractiveShell on the session's namespace, so the magics and the shell
    escapes of a transformed cell are IPython's, with four session rules:

    - system() is IPython's system_raw (subprocess.call of /bin/sh: output straight to fds 1
      and 2, stderr kept apart), not system_piped, which needs a pseudo-terminal (pexpect);
    - %matplotlib keeps the Agg backend and §8.3 (the inline backend would print the figure's
      repr and close it before the cell ends);
    - no history database, and exit/quit stay Python's (a cell that calls exit() still ends
      with SystemExit, §8.5);
    - names IPython sets in the namespace (_, __, ___) keep the values the cells gave them.
    """
    import warnings

    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    kept = {k: _ns[k] for k in ("_", "__", "___", "exit", "quit") if k in _ns}
    module = sys.modules.get("__main__")
    if module is None or module.__dict__ is not _ns:
        module = None
    shell = InteractiveShell.instance(config=config, user_module=module, user_ns=_ns)
    for k in ("exit", "quit"):
        _ns.pop(k, None)
    _ns.update(kept)
    shell.system = shell.system_raw
    # system_raw's hint to use %pip instead of !pip: both install the same way here.
    warnings.filterwarnings(
        "ignore", message="You executed the system command", category=UserWarning
    )
    shell.register_magic_function(_matplotlib_magic, "line", "matplotlib")
    return shell


def _execute(src):
    """Runs the cell; returns (value, has_value, is_call)."""
    tree, src, notebook = _parse(src)
    if notebook:
        if "get_ipython" not in _ns:
            _ns["get_ipython"] = _get_ipython
        try:
            return _run_tree(tree, src)
        finally:
            # What %pip install or %%writefile added is importable in the next cell.
            importlib.invalidate_caches()
    return _run_tree(tree, src)


def _run_tree(tree, src):
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not _suppressed(src):
        last = tree.body.pop().value
    body = None
    if tree.body:
        body = compile(tree, _CELL, "exec", _TLA, dont_inherit=True)
    expr = None
    if last is not None:
        expr = compile(ast.Expression(last), _CELL, "eval", _TLA, dont_inherit=True)
    if body is not None:
        _eval(body)
    if expr is None:
        return None, False, False
    is_call = isinstance(last, ast.Call) or (
        isinstance(last, ast.Await) and isinstance(last.value, ast.Call)
    )
    return _eval(expr), True, is_call


def _reject_constant(name):
    raise ValueError(name)


def _keep_token(text):
    return None


# A JSON string token, or a run of JSON whitespace (which lies outside strings).
_JSON_WS = re.compile(r'"(?:[^"\\]|\\.)*"|[ \t\n\r]+', re.S)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST = re.compile(r"[\[{][\]}]")
# The emulator re-serialises a JSON value itself and takes none deeper than this (reply.h
# SBX_REPLY_VALUE_DEPTH_MAX): a deeper T is sent as text (§8.2 step 6).
_JSON_DEPTH_MAX = 60


def _too_deep(text):
    """True when the valid JSON |text| nests arrays and objects more than _JSON_DEPTH_MAX deep.
    Each pass removes the innermost level, at the speed of the regex engine."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(_JSON_DEPTH_MAX):
        if not brackets:
            return False
        brackets = _INNERMOST.sub("", brackets)
    return bool(brackets)


def _classify(text):
    """§8.2 steps 5-6: ('json', compact) when T is a JSON number/array/object, else ('text', T)."""
    head = text.lstrip(" \t\n\r")
    if not head or head[0] not in "-0123456789[{":
        return "text", text
    try:
        json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_keep_token,
            parse_float=_keep_token,
            object_pairs_hook=list,
        )
    except Exception:
        return "text", text
    if _too_deep(text):
        return "text", text
    compact = _JSON_WS.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", text)
    return "json", compact


def _value_text(value):
    """(kind, text) of a cell value (§8.2). The exact builtin types whose IPython pretty form is
    their repr() skip the pretty printer and the JSON test (a warm `x + 1` spent most of its
    Python time there): an int is a JSON number, a finite float too, the rest is text."""
    t = type(value)
    if t is int:
        return "json", repr(value)
    if t is float:
        return ("json" if math.isfinite(value) else "text"), repr(value)
    if t is bool or t is str or t is bytes:
        return "text", repr(value)
    return _classify(_pretty(value, max_width=79))


def _stdin():
    return io.TextIOWrapper(
        io.BufferedReader(io.FileIO(0, "rb", closefd=False)), encoding="utf-8", errors="replace"
    )


def _run_cell(src):
    global _images
    _images = []
    st = {"op": "result", "status": "ok", "kind": "none", "value": None, "exc": None}
    if sys.stdin is None or getattr(sys.stdin, "closed", False):
        sys.stdin = _stdin()
    _sbx.mark_start()
    t0 = time.perf_counter()
    try:
        try:
            _patch_pyplot()
            value, has_value, is_call = _execute(src)
            _render_figures()
            if _images:
                st["kind"] = "image"
            elif has_value and value is None:
                if not is_call:
                    st["kind"] = "null"
            elif has_value:
                _ns["_"] = value
                st["kind"], st["value"] = _value_text(value)
        except BaseException as e:
            st["status"] = "exception"
            st["kind"] = "none"
            st["value"] = None
            st["exc"] = e
            _images = []
            _close_figures()
    finally:
        st["exec_us"] = int((time.perf_counter() - t0) * 1e6)
    return st


def _command_error(name, err):
    """What a shell prints when it cannot start |name| (exit code 127 or 126)."""
    if err == errno.ENOENT and "/" not in name:
        why = "command not found"
    else:
        why = os.strerror(err)
    line = "%s: %s\n" % (name, why)
    os.write(2, line.encode("utf-8", "replace"))


def _while_command(pid):
    """Called by run_command every 50 ms while the command runs: reaps what it orphaned (we
    are pid 1), never the command itself, which run_command reaps."""
    _direct.add(pid)
    _reap()


def _run_command(req):
    """A shell request: {"argv": [program, args...], "path": optional program file}. The
    command runs in a process of its own (pyrunner.c run_command, command.c) with the session's
    confinement, working directory and environment; its output goes straight to fds 1 and 2.
    The reply carries its exit code (128 + N when signal N ended it)."""
    st = {"op": "result", "status": "ok", "kind": "none", "value": None, "exc": None}
    t0 = time.perf_counter()
    try:
        try:
            argv = req.get("argv")
            path = req.get("path")
            if (
                not isinstance(argv, list)
                or not argv
                or not all(isinstance(a, str) for a in argv)
                or not (path is None or isinstance(path, str))
            ):
                raise ValueError("malformed shell request")
            args = [a.encode("utf-8", "surrogateescape") for a in argv]
            file = path.encode("utf-8", "surrogateescape") if path is not None else None
            _sbx.mark_start()
            t0 = time.perf_counter()
            code, err, _, pid = _sbx.run_command(file, args, _while_command)
            _direct.discard(pid)
            if err:
                _command_error(argv[0], err)
            st["exit_code"] = code
        except BaseException as e:
            st["status"] = "exception"
            st["exc"] = e
    finally:
        st["exec_us"] = int((time.perf_counter() - t0) * 1e6)
    return st


def run(frame):
    req = json.loads(frame)
    op = req.get("op")
    if op == "exec":
        code = req.get("code")
        _streams_open()
        return _run_cell(code if isinstance(code, str) else "")
    if op == "shell":
        _streams_open()
        return _run_command(req)
    if op == "ping":
        return {"op": "pong"}
    return {"op": "error", "message": "unknown operation %r" % (op,)}


# What a reply may carry (reply.h): the emulator refuses a larger frame before reading it, and
# treats any reply over these bounds as a protocol violation. The value and the traceback are
# bounded in bytes of their JSON string form, which is what travels: 8 MiB + 4 MiB + the
# message (4096 code points, 24 KiB escaped) + the name + the fixed members fit in the frame.
_VALUE_MAX = 8 << 20  # bytes, JSON-escaped
_MESSAGE_MAX = 4096  # code points
_NAME_MAX = 256  # code points
_TRACEBACK_MAX = 1 << 20  # code points, and then...
_TRACEBACK_BYTES = 4 << 20  # ...bytes, JSON-escaped
_FRAME_MAX = (12 << 20) + (64 << 10)


def _escaped_len(s):
    return len(json.dumps(s, ensure_ascii=False).encode("utf-8")) - 2


def _fit(s, budget):
    """(prefix, cut): the longest prefix of |s| whose JSON string form, quotes aside, takes at
    most |budget| bytes of UTF-8."""
    if len(s) * 6 <= budget or _escaped_len(s) <= budget:
        return s, False
    lo, hi = 0, len(s)  # s[:lo] fits, s[:hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _escaped_len(s[:mid]) <= budget:
            lo = mid
        else:
            hi = mid
    return s[:lo], True


def _format_exception(e):
    """The traceback without the helper's frames, and the exception's one-line message."""
    if type(e).__name__ == "UsageError" and type(e).__module__ == "IPython.core.error":
        # A magic's usage error: IPython shows it without a traceback (show_usage_error).
        line = "UsageError: %s" % (e,)
        return line + "\n", line
    tb = e.__traceback__
    t = tb
    while t is not None and t.tb_frame.f_code.co_filename != _CELL:
        t = t.tb_next
    if t is None:
        t = tb
        while t is not None and t.tb_frame.f_code.co_filename == _FILE:
            t = t.tb_next
    text = "".join(traceback.format_exception(type(e), e, t))
    only = traceback.format_exception_only(type(e), e)
    msg = only[-1] if only else type(e).__name__ + "\n"
    if msg.endswith("\n"):
        msg = msg[:-1]
    return text, msg


def _exc_name(e):
    cls = type(e)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return "%s.%s" % (cls.__module__, cls.__qualname__)


def _scan_orphans():
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid == me or pid in _direct:
            continue
        try:
            with open("/proc/%d/stat" % pid, "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[0] == b"Z" and int(fields[1]) == me:
            try:
                os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG)
            except OSError:
                pass


def _prune_direct():
    for pid in list(_direct):
        if not os.path.exists("/proc/%d" % pid):
            _direct.discard(pid)


def _reap():
    """Reaps zombies of orphaned grandchildren (we are pid 1), never our own children."""
    try:
        while True:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            if info is None:
                break
            if info.si_pid in _direct:
                _scan_orphans()
                break
            os.waitid(os.P_PID, info.si_pid, os.WEXITED | os.WNOHANG)
    except OSError:
        pass
    if len(_direct) > 32:
        _prune_direct()


def _text(s):
    """Lone surrogates cannot travel as UTF-8: make them U+FFFD."""
    return s.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def finish(st):
    global _images
    _streams_close()
    _reap()
    if st is None:
        # Interrupted outside the user code (after it ended, before the result was built).
        reply = {
            "op": "result",
            "status": "exception",
            "kind": "none",
            "value": None,
            "ename": "KeyboardInterrupt",
            "error": "KeyboardInterrupt",
            "traceback": "",
            "exec_us": 0,
        }
    elif st.get("op") != "result":
        reply = st
    else:
        reply = {
            "op": "result",
            "status": st["status"],
            "kind": st["kind"],
            "value": st["value"],
            "exec_us": st["exec_us"],
        }
        if st["status"] == "ok" and st.get("exit_code") is not None:
            reply["exit_code"] = st["exit_code"]
        e = st.pop("exc", None)
        if e is not None:
            reply["ename"] = _exc_name(e)
            try:
                reply["traceback"], reply["error"] = _format_exception(e)
            except BaseException as fe:
                reply["traceback"] = ""
                reply["error"] = "%s (the exception could not be formatted: %s)" % (
                    reply["ename"],
                    type(fe).__name__,
                )
            del e
        if reply["kind"] == "image":
            data = base64.b64encode(_images[-1]).decode("ascii")
            if len(data) > _VALUE_MAX:
                reply["kind"] = "text"
                data = (
                    "[image of %d base64 characters omitted: larger than the %d MiB value "
                    "limit]" % (len(data), _VALUE_MAX >> 20)
                )
            reply["value"] = data
        elif isinstance(reply["value"], str):
            v = reply["value"]
            longer = len(v) > _VALUE_MAX  # each code point takes at least a byte
            v, cut = _fit(_text(v[:_VALUE_MAX]), _VALUE_MAX)
            if longer or cut:
                reply["kind"] = "text"
            reply["value"] = v
        for k, cap in (("traceback", _TRACEBACK_MAX), ("error", _MESSAGE_MAX), ("ename", _NAME_MAX)):
            if k in reply:
                reply[k] = _text(reply[k][:cap])
        if "traceback" in reply:
            reply["traceback"] = _fit(reply["traceback"], _TRACEBACK_BYTES)[0]
    _images = []
    out = json.dumps(reply, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if len(out) > _FRAME_MAX:  # cannot happen with the cuts above; never send what is refused
        out = json.dumps(
            {
                "op": "result",
                "status": "exception",
                "kind": "none",
                "value": None,
                "ename": "SystemError",
                "error": "SystemError: the reply was too large",
                "traceback": "",
                "exec_us": 0,
            },
            separators=(",", ":"),
        ).encode("utf-8")
    return out


def _session_streams():
    """sys.stdout, sys.stderr and sys.stdin of every session, made once in the zygote: each
    session process installs its copy (the gates start closed; the fds are the same numbers in
    every session). Made per session they cost about 90 copy-on-write page faults."""
    global _out, _err, _gates, _in
    _gates = (_Gate(1, "<stdout>"), _Gate(2, "<stderr>"))
    _out = io.TextIOWrapper(
        io.BufferedWriter(_gates[0], 65536), encoding="utf-8", errors="backslashreplace"
    )
    _err = io.TextIOWrapper(
        io.BufferedWriter(_gates[1], 65536), encoding="utf-8", errors="backslashreplace"
    )
    _in = _stdin()


def _session_environ():
    """os.environ of every session, set once in the zygote after the preload (which used the
    zygote's own HOME and MPLCONFIGDIR): clearing and refilling it per session cost about 110
    copy-on-write page faults."""
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": "/tmp",
            "MPLCONFIGDIR": "/tmp",
            "MPLBACKEND": "Agg",
            "LANG": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            # pip (%pip, !pip) installs into the user site on the session's /tmp; Debian
            # marks the system interpreter externally managed (PEP 668), which a user
            # install does not touch.
            "PIP_USER": "1",
            "PIP_BREAK_SYSTEM_PACKAGES": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    if _find_links:
        # --pip-find-links: that directory, read-only, and no index (offline).
        os.environ["PIP_FIND_LINKS"] = _find_links
        os.environ["PIP_NO_INDEX"] = "1"


def session_init(warm_up):
    """Per-session state, on standby: streams, paths, seeds, __main__ (the environment and the
    stream objects come from the zygote)."""
    global _ns
    sys.stdout = sys.__stdout__ = _out
    sys.stderr = sys.__stderr__ = _err
    sys.stdin = sys.__stdin__ = _in
    for p in ("/mnt/data", ""):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    # The user site goes before the system's site directories, as site.py would put it.
    if _USER_SITE not in sys.path:
        at = next(
            (i for i, p in enumerate(sys.path) if p.endswith(("-packages", "-packages/"))),
            len(sys.path),
        )
        sys.path.insert(at, _USER_SITE)

    import random

    random.seed()
    np = sys.modules.get("numpy")
    if np is not None:
        # The whole MT19937 key from the kernel, as seed(None) would draw 128 bits and expand
        # them: a state of its own per session for half the page faults (about 70, not 150).
        key = np.frombuffer(os.urandom(2496), dtype=np.uint32)
        np.random.set_state(("MT19937", key, 624, 0, 0.0))

    # One cell through the path every cell takes (compile, run, a value, the reply) while still
    # on standby: its copy-on-write faults would otherwise land on the first real cell. A bare
    # int: the zygote's own warm-up already took IPython's pretty printer through a tuple, and
    # running that here too cost every session 0.55 MB more (830 page faults after a first
    # print(1), not 700). Skipped when a session is waiting for us already.
    if warm_up:
        _ns = {"__builtins__": builtins}
        finish(_run_cell("1"))

    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    _ns = main.__dict__


def hello():
    """The interpreter's version and every distribution a fresh session can import: those on
    its sys.path but for the session's own /mnt/data and working directory (GET metadata);
    the first of a name wins, as it does for import."""
    import importlib.metadata
    import platform

    seen = set()
    packages = []
    path = [p for p in sys.path if p not in ("", "/mnt/data")]
    for dist in importlib.metadata.distributions(path=path):
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:
            continue
        if not name:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        packages.append({"name": name, "version": version or ""})
    packages.sort(key=lambda p: p["name"].lower())
    return json.dumps(
        {"version": platform.python_version(), "packages": packages},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _import_ipython_parts():
    """IPython.lib.pretty's pretty() and inputtransformer2's TransformerManager without the rest
    of IPython, which would add 20 MB to every fork (a session that runs notebook syntax imports
    the whole of it then, see _make_shell).

    A stub parent package keeps IPython/__init__.py from running; afterwards every IPython
    module is forgotten again, so a session that imports IPython gets the real package.
    """
    import importlib.util

    spec = importlib.util.find_spec("IPython")
    stub = types.ModuleType("IPython")
    stub.__path__ = list(spec.submodule_search_locations)
    sys.modules["IPython"] = stub
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        from IPython.lib.pretty import pretty
    finally:
        for name in [m for m in sys.modules if m == "IPython" or m.startswith("IPython.")]:
            del sys.modules[name]
    return pretty, TransformerManager()


class _StashLoader:
    """Hands a stashed module back to the import system as it is: no code runs again."""

    def __init__(self, module):
        self._module = module
        self._spec = getattr(module, "__spec__", None)

    def create_module(self, spec):
        return self._module

    def exec_module(self, module):
        # module_from_spec() replaced __spec__ with ours: give the module its own back.
        if self._spec is not None:
            module.__spec__ = self._spec
        _patch_pyplot()


class _StashFinder:
    """§8.3: the zygote preloads matplotlib for speed, yet a session starts without it in
    sys.modules. The first import of any stashed name puts every stashed module back at once
    (the very objects the zygote loaded and warmed up), then this finder removes itself."""

    def find_spec(self, name, path=None, target=None):
        module = _stash.pop(name, None)
        if module is None:
            return None
        # Everything else goes back now; |name| itself is put in sys.modules by the import
        # system from our spec (were it there already, importlib would run its file again).
        _unstash()
        return importlib.util.spec_from_loader(
            name,
            _StashLoader(module),
            origin=getattr(getattr(module, "__spec__", None), "origin", None),
            is_package=hasattr(module, "__path__"),
        )


_stash = {}  # module name -> module object, while stashed
_finder = _StashFinder()


def _unstash():
    try:
        sys.meta_path.remove(_finder)
    except ValueError:
        pass
    for name, module in _stash.items():
        sys.modules.setdefault(name, module)
    _stash.clear()
    _patch_pyplot()


def _stash_new_modules(before):
    """Moves the third-party modules imported since |before| (a set of names) out of
    sys.modules; standard-library modules imported on the way stay, as any program has them."""
    stdlib = sys.stdlib_module_names
    for name in list(sys.modules):
        if name in before or name.partition(".")[0] in stdlib:
            continue
        _stash[name] = sys.modules.pop(name)
    if _stash:
        sys.meta_path.insert(0, _finder)


def _site_path():
    """The sessions' package directories (docs/packages.md), set before anything is preloaded:
    the interpreter's standard library and Debian's dist-packages, all under /usr, but not
    /usr/local (a host's own pip installs would make sessions differ from host to host), with
    the --python-path directories (SESSIONPOOL_PYTHON_PATH, colon-separated, bound read-only at
    the same path in every session) before Debian's dist-packages, their .pth files processed.
    """
    import site

    extra = [p for p in os.environ.get("SESSIONPOOL_PYTHON_PATH", "").split(":") if p]
    keep = [p for p in sys.path if p.startswith("/usr/") and not p.startswith("/usr/local/")]
    at = next((i for i, p in enumerate(keep) if p.rstrip("/").endswith("-packages")), len(keep))
    sys.path[:] = keep[:at] + extra + keep[at:]
    for d in extra:
        site.addsitedir(d, {os.path.normcase(os.path.abspath(p)) for p in sys.path})


def init():
    """Zygote start-up: preload the scientific stack once, warm it up, freeze the heap."""
    global _pretty, _transformer, _find_links, _ns
    _site_path()
    import asyncio  # noqa: F401  (top-level await)
    import random  # noqa: F401
    import subprocess  # noqa: F401

    import numpy
    import pandas
    import pkg_resources  # noqa: F401

    _pretty, _transformer = _import_ipython_parts()
    _transformer.transform_cell("!true\n")
    _find_links = os.environ.get("SESSIONPOOL_PIP_FIND_LINKS") or None
    pandas.DataFrame({"a": numpy.arange(1000), "b": numpy.arange(1000) % 7}).groupby("b").describe()
    _classify("[1, 2]")
    _suppressed("1;")
    _patch_process_functions()

    before = set(sys.modules)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure()
    plt.plot([1, 2, 3], [1, 4, 9])
    fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
    plt.close("all")
    _patch_pyplot()
    del fig, plt, matplotlib
    # The shell behind get_ipython() (jedi, traitlets, the magics): loaded once here and
    # stashed, it costs an idle session nothing measurable, and a session's first notebook
    # cell about 30 ms and 9 MB instead of 0.2-1.4 s and 32 MB (imported in the session).
    import IPython.core.interactiveshell  # noqa: F401

    _stash_new_modules(before)
    _session_environ()
    _session_streams()
    # A warm-up cell here, its value through IPython's pretty printer and a ';': what it caches
    # (method cache entries, type version tags, interned names, lazily built tables) is then
    # shared by every session, not copied into each.
    _ns = {"__builtins__": builtins}
    finish(_run_cell("[1, 'a'];(1, 2)"))
    _ns = None

    import gc

    gc.collect()
    gc.freeze()
