# SPDX-License-Identifier: GPL-2.0-or-later
"""kvm-vmi client library: enable tracing over QMP, receive the events,
run hooks on them and print them like strace.

A QEMU is reached either directly on its QMP socket (with the QMP library
from QEMU's own tree, python/qemu/qmp) or through libvirt, with
``virsh qemu-monitor-command`` and ``virsh qemu-monitor-event``.

Hooks, in the spirit of the old nitro userland::

    def enter_openat(event):            # before the call runs
        event['sensitive'] = event.arg('filename', '').startswith('/etc/')

    def exit_execve(event):             # at its return; the entry too
        if event.ret == 0:
            event['command_line'] = ' '.join(event.entry.arg('argv', []))

A hook receives the event's data (a dict, as QMP carries it) with a few
helpers, may add fields (they travel with the event: into --json output,
and after a "#" on strace-like lines), and may return False to leave the
event out of the output.

Guest text (names, paths, argv, error texts quoting the guest) is printed
through escape_guest_text(), so that it cannot act on a terminal.
"""

import asyncio
import errno
import json
import os
import re
import runpy
import signal
import sys
import unicodedata

__all__ = ['Event', 'Hooks', 'StraceFormatter', 'Tracer', 'TraceError',
           'QmpTransport', 'VirshTransport', 'escape_guest_text',
           'import_qmp']


# ----------------------------------------------------------------- escaping

STRACE_ESCAPES = {'\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r',
                  '\v': '\\v', '\f': '\\f'}
# not printable for str.isprintable(), yet inert on a terminal: spaces
# other than ' ' (no-break space, ...) and private-use characters
KEPT_CATEGORIES = {'Zs', 'Co'}


def signal_name(number):
    """strace's name for a signal number: SIGKILL, or SIG??? (N)."""
    try:
        return signal.Signals(int(number)).name
    except (ValueError, TypeError):
        return f'SIG??? ({escape_guest_text(number)})'


def escape_guest_text(s, quote_char=None, backslash=True):
    """@s made safe to print for a person, escaped as strace does.

    Everything in @s may come from the guest (a process name, a path, a
    QMP error quoting the guest kernel), so no character that a terminal
    acts on passes: C0 and C1 controls and DEL (Cc), format characters
    such as bidi overrides and zero-width ones (Cf), line and paragraph
    separators (Zl, Zp), lone surrogates (Cs) and unassigned code points
    (Cn). They become \\n, \\t, \\r, \\v, \\f, or \\xHH below U+0100,
    \\uHHHH, \\UHHHHHHHH; a surrogate from surrogateescape (an undecodable
    byte) becomes \\xHH of that byte. The result is one line.

    @quote_char: the quote around the text, escaped too (as quote() does).
    @backslash: double backslashes (the default), so that an escape in the
    output cannot be forged with a literal backslash; False for text where
    unambiguity matters less than readability (diagnostics).
    A non-string is converted with str() first, bytes are decoded as
    UTF-8 with surrogateescape.
    """
    if isinstance(s, (bytes, bytearray)):
        s = bytes(s).decode('utf-8', 'surrogateescape')
    elif not isinstance(s, str):
        s = str(s)
    if s.isprintable() and (not backslash or '\\' not in s) and \
            (not quote_char or quote_char not in s):
        return s                    # the common case: nothing to escape
    out = []
    for ch in s:
        if ch == quote_char:
            out.append('\\' + ch)
        elif ch in STRACE_ESCAPES:
            out.append(STRACE_ESCAPES[ch] if backslash or ch != '\\'
                       else ch)
        elif ch.isprintable() or \
                unicodedata.category(ch) in KEPT_CATEGORIES:
            out.append(ch)
        else:
            cp = ord(ch)
            if 0xdc80 <= cp <= 0xdcff:
                cp -= 0xdc00        # surrogateescape: the byte itself
            if cp < 0x100:
                out.append(f'\\x{cp:02x}')
            elif cp < 0x10000:
                out.append(f'\\u{cp:04x}')
            else:
                out.append(f'\\U{cp:08x}')
    return ''.join(out)


class TraceError(Exception):
    """A QMP command failed, or the connection could not be made.

    The message is escaped (escape_guest_text()): QEMU's error texts may
    quote the guest, and vmi-trace prints them as they are."""

    def __init__(self, message):
        super().__init__(escape_guest_text(message))


def import_qmp(extra_path=None):
    """Import qemu.qmp: from @extra_path, $QEMU_PYTHON, the QEMU source
    tree that ./configure unpacked next to this script, or the system."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (extra_path, os.environ.get('QEMU_PYTHON'),
              os.path.join(here, '..', 'build', 'qemu-src', 'python')):
        if d and os.path.isdir(os.path.join(d, 'qemu', 'qmp')):
            sys.path.insert(0, os.path.abspath(d))
            break
    try:
        from qemu import qmp
    except ImportError as e:
        raise TraceError(
            "cannot import QEMU's QMP library (qemu.qmp): run ./configure "
            "(it unpacks QEMU's source under build/), or point "
            "--qemu-python / QEMU_PYTHON at QEMU's python/ directory") from e
    return qmp


class Event(dict):
    """One event's data, as QMP carries it, with helpers for hooks."""

    def __init__(self, kind, data, timestamp=None, entry=None):
        super().__init__(data)
        self.kind = kind            # 'VMI_SYSCALL', 'VMI_PROCESS_START', ...
        self.timestamp = timestamp
        self.entry = entry          # at an exit: the entry event, if seen

    @property
    def name(self):
        return self.get('name')

    @property
    def direction(self):
        return self.get('direction')

    @property
    def pid(self):
        proc = self.get('process')
        return proc['pid'] if proc else self.get('pid')

    @property
    def process_name(self):
        proc = self.get('process')
        return proc['name'] if proc else self.get('name')

    @property
    def ret(self):
        return self.get('ret')

    def param(self, name):
        """The parameter called @name (the kernel's name), or None."""
        for p in self.get('params', ()):
            if p['name'] == name:
                return p
        return None

    def arg(self, name, default=None):
        """The decoded value of parameter @name: its string, strings, fd,
        flags or socket address, else its typed int or uint, else its raw
        value (an int); @default when the event has no such parameter
        (a system call without params: no prototype for it)."""
        p = self.param(name)
        if p is None:
            return default
        for key in ('string', 'strings', 'fd', 'flags', 'sockaddr'):
            if key in p:
                return p[key]
        return number_value(p)

    def message(self):
        """The event as QMP and the chardev sink carry it."""
        msg = {'event': self.kind, 'data': dict(self)}
        if self.timestamp is not None:
            msg['timestamp'] = self.timestamp
        return msg


class Hooks:
    """Callbacks by name: enter_<syscall>, exit_<syscall>, on_syscall
    (every system call event), on_process (VMI_PROCESS_START and
    VMI_PROCESS_EXIT) and finish (no argument, when tracing ends)."""

    NAME = re.compile(r'^(enter_\w+|exit_\w+|on_syscall|on_process|finish)$')

    def __init__(self):
        self.table = {}

    def add(self, name, func):
        if not self.NAME.match(name):
            raise TraceError(f"hook '{name}': not enter_<syscall>, "
                             "exit_<syscall>, on_syscall, on_process or "
                             "finish")
        if not callable(func):
            raise TraceError(f"hook '{name}' is not callable")
        self.table.setdefault(name, []).append(func)

    def hook(self, name):
        """Decorator: @hooks.hook('enter_openat')."""
        def register(func):
            self.add(name, func)
            return func
        return register

    def load(self, path):
        """Register every hook function that the Python file defines."""
        try:
            namespace = runpy.run_path(path)
        except FileNotFoundError:
            raise TraceError(f"hooks file '{path}' does not exist") from None
        except Exception as e:
            raise TraceError(f"hooks file '{path}': {type(e).__name__}: "
                             f"{e}") from e
        found = [n for n in namespace if self.NAME.match(n)
                 and callable(namespace[n])]
        if not found:
            raise TraceError(f"hooks file '{path}' defines no enter_<syscall>"
                             ", exit_<syscall>, on_syscall, on_process or "
                             "finish function")
        for n in found:
            self.add(n, namespace[n])

    def names(self):
        return sorted(self.table)

    def syscalls(self):
        """The system calls hooked by name (enter_/exit_)."""
        return sorted({n.split('_', 1)[1] for n in self.table
                       if n.startswith(('enter_', 'exit_'))})

    def run(self, event):
        """Run the hooks for @event; False if one of them drops it."""
        if event.kind == 'VMI_SYSCALL':
            names = ('on_syscall', f'{event.direction}_{event.name}')
        elif event.kind in ('VMI_PROCESS_START', 'VMI_PROCESS_EXIT'):
            names = ('on_process',)
        else:
            return True
        keep = True
        for n in names:
            for func in self.table.get(n, ()):
                if self._call(n, func, event) is False:
                    keep = False
        return keep

    @staticmethod
    def _call(name, func, *args):
        try:
            return func(*args)
        except Exception as e:
            raise TraceError(f'hook {name} ({func.__module__}.'
                             f'{func.__qualname__}) raised '
                             f'{type(e).__name__}: {e}') from e

    def finish(self):
        for func in self.table.get('finish', ()):
            self._call('finish', func)


# ---------------------------------------------------------------- formatting

OCTAL = {'umode_t', 'mode_t'}
ADDRESS_RETURNS = {'mmap', 'mmap2', 'mremap', 'brk', 'shmat'}
ERRNO_BY_NAME = {name: num for num, name in errno.errorcode.items()}
ERRNO_BY_NAME.update({'ERESTARTSYS': 512, 'ERESTARTNOINTR': 513,
                      'ERESTARTNOHAND': 514, 'ENOIOCTLCMD': 515,
                      'ERESTART_RESTARTBLOCK': 516})
KERNEL_ERRNO_TEXT = {512: 'To be restarted', 513: 'To be restarted',
                     514: 'To be restarted if no handler',
                     515: 'No ioctl command',
                     516: 'Interrupted by signal'}


def quote(s):
    """A C string literal, escaped as strace does (escape_guest_text())."""
    return '"' + escape_guest_text(s, quote_char='"') + '"'


def number_value(p):
    """A parameter's number: its typed value (the event's int or uint,
    which QEMU reads at the width and sign the kernel's BTF gives the
    type), else the register (value, an unsigned 64-bit integer)."""
    return p['int'] if 'int' in p else p.get('uint', p['value'])


def format_raw(v):
    """A raw register (an argument, a pointer) as strace shows it: hex.
    Anything but an integer (QEMU sends none) is escaped as it is."""
    if isinstance(v, int) and not isinstance(v, bool):
        return hex(v)
    return escape_guest_text(v)


def format_number(p):
    """A parameter by value (number_value())."""
    base = p['type'].replace('const ', '').strip()
    v = number_value(p)
    if '*' in base:
        return 'NULL' if v == 0 else hex(v)
    if base in OCTAL:
        return f'0{v:o}' if v else '0'
    if v > 0xffffffff and base == 'unsigned long':
        return hex(v)               # an address passed as a number
    return str(v)


def format_sockaddr(sa):
    fam = escape_guest_text(sa['family'])
    if 'path' in sa:
        return f'{{sa_family={fam}, sun_path={quote(sa["path"])}}}'
    if fam == 'AF_INET':
        return (f'{{sa_family=AF_INET, sin_port=htons({sa.get("port", 0)}), '
                f'sin_addr=inet_addr({quote(sa.get("address", ""))})}}')
    if fam == 'AF_INET6':
        return (f'{{sa_family=AF_INET6, sin6_port=htons({sa.get("port", 0)})'
                f', sin6_addr={quote(sa.get("address", ""))}}}')
    return f'{{sa_family={fam}}}'


def format_param(p):
    if 'error' in p:
        # unreadable: the pointer, as strace does
        return format_raw(p['value'])
    if 'fd' in p:
        return escape_guest_text(p['fd'])
    more = '...' if p.get('truncated') else ''
    if 'string' in p:
        return quote(p['string']) + more
    if 'strings' in p:
        items = [quote(s) for s in p['strings']] + ([more] if more else [])
        return '[' + ', '.join(items) + ']'
    if 'flags' in p:
        return escape_guest_text(p['flags'])
    if 'sockaddr' in p:
        return format_sockaddr(p['sockaddr'])
    return format_number(p)


def format_args(event):
    """The parameters, decoded; without them (no prototype for the call)
    the six raw arguments in hex."""
    if 'params' in event:
        return ', '.join(format_param(p) for p in event['params'])
    return ', '.join(format_raw(a) for a in event.get('args', ()))


def format_return(event):
    ret = event.get('ret')
    name = event.get('errno')
    if name:
        num = ERRNO_BY_NAME.get(name)
        text = KERNEL_ERRNO_TEXT.get(num) or (os.strerror(num) if num else '')
        return f'-1 {escape_guest_text(name)}' + \
            (f' ({text})' if text else '')
    if ret is None:
        return '?'
    if event.name in ADDRESS_RETURNS and ret > 0:
        return hex(ret)
    return str(ret)


class StraceFormatter:
    """Joins each entry with its exit into one line:
    ``cat[412] openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3``.

    Every line is one line of printable text: what comes from the guest
    (names, paths, argv, the system call's name from the profile) goes
    through escape_guest_text(), hooks' fields through JSON."""

    NORETURN = {'exit', 'exit_group', 'rt_sigreturn', 'sigreturn'}

    def __init__(self, write):
        self.write = write
        self.entries = {}           # pid -> its entry in flight

    @staticmethod
    def _who(event):
        return (f'{escape_guest_text(event.process_name)}'
                f'[{escape_guest_text(event.pid)}]')

    @staticmethod
    def _extra(event, keys):
        # json.dumps escapes controls and, with ensure_ascii, all the rest
        if not keys:
            return ''
        return '  # ' + ' '.join(f'{escape_guest_text(k)}='
                                 f'{json.dumps(event[k])}' for k in keys)

    def syscall(self, event, added):
        pid = event.pid
        if event.direction == 'enter':
            stale = self.entries.pop(pid, None)
            if stale:
                self._line(stale[0], '<unfinished ...>', stale[1])
            if event.name in self.NORETURN:
                self._line(event, '= ?', added)
            else:
                self.entries[pid] = (event, added)
            return
        entry, entry_added = self.entries.pop(pid, (None, []))
        name = escape_guest_text(event.name)
        if entry is None or entry.name != event.name:
            call = f'<... {name} resumed>)'
        else:
            call = f'{name}({format_args(entry)})'
        extra = list(entry_added) + [k for k in added if k not in entry_added]
        merged = dict(entry or {})
        merged.update(event)
        self.write(f'{self._who(event)} {call} = {format_return(event)}'
                   f'{self._extra(merged, extra)}')

    def _line(self, event, tail, added):
        self.write(f'{self._who(event)} {escape_guest_text(event.name)}('
                   f'{format_args(event)}) {tail}'
                   f'{self._extra(event, added)}')

    def process(self, event, added):
        who = (f'{escape_guest_text(event.get("name"))}'
               f'[{escape_guest_text(event["pid"])}]')
        if event.kind == 'VMI_PROCESS_EXIT' and event.get('signal'):
            text = f'killed by {signal_name(event["signal"])}'
            if event.get('core-dumped'):
                text += ' (core dumped)'
        elif event.kind == 'VMI_PROCESS_EXIT':
            text = f'exited with {escape_guest_text(event["code"])}'
        elif event['kind'] == 'exec':
            text = f'exec {quote(event.get("path", "?"))} [' + ', '.join(
                quote(a) for a in event.get('argv', ())) + ']'
        else:
            text = (f'{escape_guest_text(event["kind"])} from '
                    f'{escape_guest_text(event["ppid"])}')
        self.write(f'{who} +++ {text} +++{self._extra(event, added)}')

    def flush(self):
        for event, added in self.entries.values():
            self._line(event, '<unfinished ...>', added)
        self.entries.clear()


# ----------------------------------------------------------------- transports

class QmpTransport:
    """QEMU's QMP socket, with QEMU's own async QMP library."""

    def __init__(self, address, qemu_python=None):
        self.qmp = import_qmp(qemu_python)
        self.address = address
        self.client = self.qmp.QMPClient('vmi-trace')

    def describe(self):
        return f'QMP {self.address}'

    async def connect(self):
        addr = self.address
        m = re.match(r'^(?:tcp:)?([\w.-]+):(\d+)$', addr)
        if m and not os.path.exists(addr):
            addr = (m.group(1), int(m.group(2)))
        elif addr.startswith('unix:'):
            addr = addr[5:]
        try:
            await self.client.connect(addr)
        except Exception as e:
            raise TraceError(f"cannot connect to QMP at '{self.address}': "
                             f"{e}") from e
        self.listener = self.qmp.EventListener(
            ('VMI_SYSCALL', 'VMI_PROCESS_START', 'VMI_PROCESS_EXIT',
             'VMI_EVENTS_LOST', 'VMI_EVENTS_SKIPPED'))
        self.client.register_listener(self.listener)

    async def execute(self, cmd, args=None):
        try:
            return await self.client.execute(cmd, args or {})
        except self.qmp.ExecuteError as e:
            raise TraceError(f'{cmd}: {e.error.error.desc}') from e

    async def next_event(self):
        msg = await self.listener.get()
        return msg['event'], msg.get('data', {}), msg.get('timestamp')

    async def close(self):
        """Disconnect; return the events that arrived but were not taken."""
        left = []
        while not self.listener.empty():
            msg = await self.listener.get()
            left.append((msg['event'], msg.get('data', {}),
                         msg.get('timestamp')))
        self.client.remove_listener(self.listener)
        await self.client.disconnect()
        return left


class VirshTransport:
    """A libvirt domain: commands through virsh qemu-monitor-command, events
    through virsh qemu-monitor-event."""

    EVENT_LINE = re.compile(
        r"^event (\S+) at (\d+)\.(\d+) for domain '.*?': (\{.*\}|<null>)\s*$")

    def __init__(self, domain, uri=None, virsh=('virsh',)):
        self.domain = domain
        self.base = list(virsh) + (['-c', uri] if uri else [])
        self.proc = None
        self.queue = asyncio.Queue()

    def describe(self):
        return f'libvirt domain {self.domain}'

    async def connect(self):
        # the event stream first: no event of ours may come before it
        try:
            # line-buffered: each event as soon as libvirt relays it
            self.proc = await asyncio.create_subprocess_exec(
                'stdbuf', '-oL', *self.base, 'qemu-monitor-event', self.domain, '--loop',
                '--event', 'VMI_', '--regex',
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=16 << 20)
        except FileNotFoundError:
            raise TraceError('stdbuf is not installed (Debian: '
                             'coreutils)') from None
        self.reader = asyncio.ensure_future(self._read_events())
        # a round trip: the domain exists and its monitor answers
        await self.execute('query-status')

    async def _read_events(self):
        async for raw in self.proc.stdout:
            m = self.EVENT_LINE.match(raw.decode('utf-8', 'replace'))
            if not m:
                continue
            data = {} if m.group(4) == '<null>' else json.loads(m.group(4))
            ts = {'seconds': int(m.group(2)),
                  'microseconds': int(m.group(3))}
            await self.queue.put((m.group(1), data, ts))
        await self.queue.put(None)

    async def execute(self, cmd, args=None):
        msg = {'execute': cmd}
        if args:
            msg['arguments'] = args
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.base, 'qemu-monitor-command', self.domain,
                json.dumps(msg), stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except FileNotFoundError:
            raise TraceError(f'{self.base[0]} is not installed (Debian: '
                             'libvirt-clients)') from None
        out, err = await proc.communicate()
        if proc.returncode != 0:
            err = err.decode('utf-8', 'surrogateescape').strip()
            raise TraceError(f'{cmd}: virsh: {err or proc.returncode}')
        reply = json.loads(out)
        if 'error' in reply:
            raise TraceError(f"{cmd}: {reply['error']['desc']}")
        return reply.get('return')

    async def next_event(self):
        ev = await self.queue.get()
        if ev is None:
            err = (await self.proc.stderr.read()).decode(
                'utf-8', 'surrogateescape').strip()
            raise TraceError(f'virsh qemu-monitor-event ended: {err}')
        return ev

    async def close(self):
        """Stop the event stream; return the events not taken yet."""
        # libvirt relays events asynchronously: give the last ones a moment
        await asyncio.sleep(0.5)
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)    # virsh ends its loop
        try:
            await asyncio.wait_for(self.reader, 10)
        except asyncio.TimeoutError:
            self.proc.kill()
        await self.proc.wait()
        left = []
        while not self.queue.empty():
            ev = self.queue.get_nowait()
            if ev is not None:
                left.append(ev)
        return left


# --------------------------------------------------------------------- tracer

class Tracer:
    """Enable tracing, deliver each event through the hooks to an output,
    disable tracing when stopped (Ctrl-C, SIGTERM, --count, --duration)."""

    def __init__(self, transport, hooks=None, output=None, json_lines=False,
                 profile=None, filter=None, overflow=None):
        self.transport = transport
        self.hooks = hooks or Hooks()
        self.out = output or sys.stdout
        self.json_lines = json_lines
        self.profile = profile
        self.filter = filter
        self.overflow = overflow
        self.formatter = StraceFormatter(self._write)
        self.entries = {}           # pid -> entry Event, for exit hooks
        self.stats = {'events': 0, 'shown': 0, 'lost': 0}
        self.owns_tracing = False
        self.stop = None
        self.limit = None           # --count: events to deliver at most
        self.dropped_before = 0

    def _write(self, line):
        self.out.write(line + '\n')

    def deliver(self, kind, data, timestamp=None):
        if self.limit is not None and self.stats['events'] >= self.limit:
            return
        if kind == 'VMI_EVENTS_LOST':
            self.stats['lost'] += data.get('lost', 0)
            if data.get('lost'):
                lost = escape_guest_text(data.get('lost'))
                total = escape_guest_text(data.get('total'))
                print(f"vmi-trace: {lost} events lost in QEMU ({total} in "
                      "all)", file=sys.stderr)
            if data.get('in-flight'):
                print(f"vmi-trace: {escape_guest_text(data['in-flight'])} "
                      "system calls in flight will not return (the machine "
                      "reset)", file=sys.stderr)
            return
        if kind == 'VMI_EVENTS_SKIPPED':
            # this client fell 8 MiB behind: QEMU skipped events for it
            self.stats['lost'] += data.get('skipped', 0)
            skipped = escape_guest_text(data.get('skipped'))
            print(f"vmi-trace: {skipped} events skipped: this client fell "
                  "behind (read faster, or filter more)", file=sys.stderr)
            return
        self.stats['events'] += 1
        entry = None
        if kind == 'VMI_SYSCALL':
            pid = data['process']['pid']
            if data['direction'] == 'exit':
                entry = self.entries.pop(pid, None)
        event = Event(kind, data, timestamp, entry)
        if kind == 'VMI_SYSCALL' and event.direction == 'enter':
            self.entries[event.pid] = event
        before = set(event)
        if not self.hooks.run(event):
            return
        added = [k for k in event if k not in before]
        self.stats['shown'] += 1
        if self.json_lines:
            self._write(json.dumps(event.message()))
        elif kind == 'VMI_SYSCALL':
            self.formatter.syscall(event, added)
        else:
            self.formatter.process(event, added)

    async def start(self):
        await self.transport.connect()
        args = {}
        if self.profile:
            args['profile'] = self.profile
        if self.filter is not None:
            args['filter'] = self.filter
        if self.overflow:
            args['overflow'] = self.overflow
        info = await self.transport.execute('query-vmi')
        # a session exists in every state but off (armed, tracing, error)
        enabled = info.get('state', 'off') != 'off'
        # a joined session's earlier losses are not this client's
        self.dropped_before = info.get('dropped', 0) if enabled else 0
        if enabled:
            # someone else's session (e.g. -vmi syscalls=on): join it
            if self.profile or self.overflow:
                raise TraceError('introspection is already enabled: '
                                 'leave out --profile and --overflow to '
                                 'join it')
            if self.filter is not None:
                await self.transport.execute('vmi-set-filter',
                                             {'filter': self.filter})
        else:
            await self.transport.execute('vmi-enable', args)
            self.owns_tracing = True

    async def finish(self):
        """Disable tracing (if this client enabled it) and deliver what
        QEMU flushes before vmi-disable returns."""
        if self.owns_tracing:
            await self.transport.execute('vmi-disable')
            self.owns_tracing = False
        # the counters outlive vmi-disable and include its flush
        info = await self.transport.execute('query-vmi')
        info['dropped-here'] = info.get('dropped', 0) - self.dropped_before
        for ev in await self.transport.close():
            self.deliver(*ev)
        if not self.json_lines:
            self.formatter.flush()
        self.hooks.finish()
        self.out.flush()
        return info

    async def run(self, count=None, duration=None):
        loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        self.limit = count
        # until the end, signals only ask to stop: a second Ctrl-C must
        # not cut the final vmi-disable short
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop.set)
        if duration:
            loop.call_later(duration, self.stop.set)
        try:
            await self.start()
            print(f'vmi-trace: tracing {self.transport.describe()}'
                  + ('' if self.owns_tracing
                     else ' (joined a running session)'),
                  file=sys.stderr, flush=True)
            try:
                await self._loop(count)
            except BaseException:
                await self._abandon()
                raise
            return await self.finish()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    async def _loop(self, count):
        stopper = asyncio.ensure_future(self.stop.wait())
        try:
            while not self.stop.is_set():
                getter = asyncio.ensure_future(self.transport.next_event())
                done, _ = await asyncio.wait(
                    {getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                self.deliver(*getter.result())
                if count and self.stats['events'] >= count:
                    break
        finally:
            stopper.cancel()

    async def _abandon(self):
        """After an error: tracing this client enabled is switched off
        (best effort: the connection may be what failed)."""
        if self.owns_tracing:
            try:
                await asyncio.wait_for(
                    self.transport.execute('vmi-disable'), 30)
                self.owns_tracing = False
            except Exception as e:
                # a TraceError's message is escaped already
                msg = e if isinstance(e, TraceError) \
                    else escape_guest_text(e)
                print(f'vmi-trace: could not disable tracing: {msg}',
                      file=sys.stderr)
