# SPDX-License-Identifier: GPL-2.0-or-later
"""vmi-trace hooks: every program started, with its command line.

  vmi-trace --qmp qmp.sock -e execve,execveat --hooks scripts/hooks/execve.py

At the return of a successful execve the event gets "command_line" (argv
joined by spaces, as the entry read it) and "parent" (the process that
called it, by its name before the exec).
"""


def enter_execve(event):
    # the name changes with the exec: keep the caller's
    event['caller'] = event.process_name


def exit_execve(event):
    if event.ret == 0 and event.entry is not None:
        event['command_line'] = ' '.join(event.entry.arg('argv') or [])
        event['parent'] = event.entry.get('caller')


enter_execveat = enter_execve
exit_execveat = exit_execve
