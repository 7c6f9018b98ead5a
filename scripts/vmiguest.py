# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot the kvm-vmi test guest (build/guest) for scripts and tests.

The guest's /init runs each line written to its serial console and ends
the output with "VMI_CMD_DONE rc=N" (tests/guest/init).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time


class Guest:
    """QEMU running the test guest under TCG.

    @qmp_client: connect to QMP here and count VMI_SYSCALL events in a
    thread; otherwise the socket (self.qmp_path) is left for another
    client. query() uses a monitor of its own (a QMP socket serves one
    client at a time).
    """

    def __init__(self, qemu, guest, extra_args=(), qmp_client=False,
                 smp=1, append='', boot_timeout=300):
        self.tmp = tempfile.mkdtemp(prefix='vmi-guest-')
        serial = os.path.join(self.tmp, 'serial.sock')
        self.qmp_path = os.path.join(self.tmp, 'qmp.sock')
        self.ctl_path = os.path.join(self.tmp, 'ctl.sock')
        lsock = socket.socket(socket.AF_UNIX)
        lsock.bind(serial)
        lsock.listen(1)
        lsock.settimeout(60)
        self.cmd = [qemu, '-accel', 'tcg', '-M', 'pc', '-cpu', 'max',
                    '-m', '512M', '-smp', str(smp),
                    '-nodefaults', '-display', 'none', '-no-reboot',
                    '-kernel', os.path.join(guest, 'vmlinuz'),
                    '-initrd', os.path.join(guest, 'initramfs.cpio'),
                    '-append', f'console=ttyS0 quiet pti=off {append}',
                    '-chardev', f'socket,id=s0,path={serial}',
                    '-serial', 'chardev:s0',
                    '-qmp', f'unix:{self.qmp_path},server=on,wait=off',
                    '-qmp', f'unix:{self.ctl_path},server=on,wait=off'] + \
            list(extra_args)
        self.stderr = open(os.path.join(self.tmp, 'qemu.log'), 'w+')
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr)
        try:
            self.serial, _ = lsock.accept()
        except socket.timeout:
            self.close()
            raise RuntimeError('QEMU did not connect its serial console: '
                               + self.log())
        finally:
            lsock.close()
        self.buf = b''
        self.events = 0
        self.last_event = None
        self.qmpf = None
        if qmp_client:
            sock = self._qmp_connect()
            sock.settimeout(None)       # events may pause for long
            self.qmpf = sock.makefile('rw')
            threading.Thread(target=self._drain, daemon=True).start()
        self.console = self.wait_for(b'VMI_GUEST_READY', boot_timeout)

    def log(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def _qmp_connect(self, path=None):
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(60)
        for _ in range(200):
            try:
                sock.connect(path or self.qmp_path)
                break
            except OSError:
                time.sleep(0.05)
        f = sock.makefile('rw')
        f.readline()
        f.write('{"execute": "qmp_capabilities"}\n')
        f.flush()
        f.readline()
        return sock

    def query(self, cmd, args=None):
        """One QMP command on a connection of its own; its "return"."""
        sock = self._qmp_connect(self.ctl_path)
        with sock, sock.makefile('rw') as f:
            # the reply is known by its id: the one to qmp_capabilities
            # may come after events, so _qmp_connect may not have read it
            msg = {'execute': cmd, 'id': 'vmiguest-query'}
            if args:
                msg['arguments'] = args
            f.write(json.dumps(msg) + '\n')
            f.flush()
            for line in f:
                reply = json.loads(line)
                if reply.get('id') != 'vmiguest-query':
                    continue
                if 'return' in reply:
                    return reply['return']
                if 'error' in reply:
                    raise RuntimeError(f"{cmd}: {reply['error']['desc']}")
        raise EOFError('QMP closed')

    def _drain(self):
        for line in self.qmpf:
            if '"VMI_SYSCALL"' in line:
                self.events += 1
                self.last_event = time.monotonic()

    def wait_for(self, marker, timeout=300):
        """Console output up to @marker's line; the rest stays buffered."""
        deadline = time.monotonic() + timeout
        self.serial.settimeout(5)
        while not re.search(re.escape(marker) + rb'[^\n]*\n', self.buf):
            if time.monotonic() > deadline:
                raise TimeoutError(f'{marker!r} not seen; console: '
                                   f'{self.buf[-2000:]!r}')
            try:
                chunk = self.serial.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise EOFError('guest console closed: ' + self.log())
            self.buf += chunk
        m = re.search(re.escape(marker) + rb'[^\n]*\n', self.buf)
        out, self.buf = self.buf[:m.end()], self.buf[m.end():]
        return out.decode(errors='replace')

    def run(self, cmd, timeout=300):
        """Run @cmd in the guest; its console output."""
        self.serial.sendall(cmd.encode() + b'\n')
        return self.wait_for(b'VMI_CMD_DONE', timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
