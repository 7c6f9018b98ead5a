# SPDX-License-Identifier: GPL-2.0-or-later
"""vmi-trace hooks: who opens what under /etc, and how often.

  vmi-trace --qmp qmp.sock -e openat --hooks scripts/hooks/openat.py

Each openat gets "watched" (the path is under a watched directory) at its
entry and "opened" (the path, once the call succeeded) at its return; calls
outside the watched directories are left out of the output. At the end,
the count of successful opens per process goes to standard error.
"""

import collections
import sys

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
        print(f'openat hook: {name} opened {n} watched files',
              file=sys.stderr)
