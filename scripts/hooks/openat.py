# SPDX-License-Identifier: GPL-2.0-or-later
"""vmi-trace hooks: who opens what under /etc, and how often.

  vmi-trace --qmp qmp.sock -e openat --hooks scripts/hooks/openat.py

Each openat gets "watched" (the path is under a watched directory) at its
entry and "opened" (the path, once the call succeeded) at its return; calls
outside the watched directories are left out of the output. At the end,
the count of successful opens per process goes to standard error, the
names escaped as vmi-trace's own lines are (a guest picks its processes'
names, terminal controls included).
"""

import collections
import os
import sys

# vmi-trace has imported vmitrace already; else it is in the directory
# above this file's
if 'vmitrace' not in sys.modules:
    sys.path.insert(1, os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..'))
from vmitrace import escape_guest_text  # noqa: E402

WATCHED = ('/etc/',)
opened = collections.Counter()


def enter_openat(event):
    path = event.arg('filename')
    event['watched'] = isinstance(path, str) and path.startswith(WATCHED)
    return event['watched']


def exit_openat(event):
    if event.entry is None or not event.entry.get('watched'):
        return False
    if event.ret is not None and event.ret >= 0:
        event['opened'] = event.entry.arg('filename')
        opened[event.process_name] += 1
    return True


def finish():
    for name, n in opened.most_common():
        print(f'openat hook: {escape_guest_text(name)} opened {n} watched '
              'files', file=sys.stderr)
