"""Exec launcher for a sandbox worker: limit this process, then exec node in its place.

    python -I -S launch.py '<spec json>' /path/to/node [node args...]

Runs as its own tiny process (not a `preexec_fn`, which is unsafe in the multi-threaded sidecar).
The spec gives rlimits and whether to install a seccomp filter. The filter (x86-64 and arm64) is
a deny-list on top of Node's permission model: no sockets at all (so no network even where no
network namespace could be made), no fork/vfork/new processes (threads only), no exec other
than the one below, no ptrace/process_vm_*, no signals to other processes, no io_uring (it could
open sockets behind seccomp's back) and none of the namespace/mount/kernel-module calls.
Exits 97 when a requested layer cannot be applied, so the sidecar can detect and report it.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import sys

# struct seccomp_data: nr @0, arch @4, ip @8, args[i] @16 + 8 * i (little-endian: low word first).
ARCHES = {
    # machine: (AUDIT_ARCH, syscall numbers)
    "x86_64": (0xC000003E, {
        "socket": 41, "fork": 57, "vfork": 58, "clone": 56, "clone3": 435, "execve": 59, "execveat": 322,
        "kill": 62, "tgkill": 234, "tkill": 200, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
        "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438, "ptrace": 101, "process_vm_readv": 310,
        "process_vm_writev": 311, "kcmp": 312, "unshare": 272, "setns": 308, "mount": 165, "umount2": 166,
        "pivot_root": 155, "chroot": 161, "open_by_handle_at": 304, "name_to_handle_at": 303, "bpf": 321,
        "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246, "reboot": 169,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    }),
    "aarch64": (0xC00000B7, {
        "socket": 198, "clone": 220, "clone3": 435, "execve": 221, "execveat": 281,
        "kill": 129, "tgkill": 131, "tkill": 130, "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240,
        "pidfd_open": 434, "pidfd_send_signal": 424, "pidfd_getfd": 438, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "kcmp": 272, "unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
        "pivot_root": 41, "chroot": 51, "open_by_handle_at": 265, "name_to_handle_at": 264, "bpf": 280,
        "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104, "reboot": 142,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    }),
}
ALLOW, KILL = 0x7FFF0000, 0x80000000
EPERM, EACCES, ENOSYS = 1, 13, 38
CLONE_THREAD = 0x00010000
LD_W_ABS, JEQ, JSET, JGE, RET = 0x20, 0x15, 0x45, 0x35, 0x06


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def _errno(code: int) -> int:
    return 0x00050000 | code


def _arg(i: int, high: bool = False) -> int:
    return 16 + 8 * i + (4 if high else 0)


def build_filter(machine: str, pid: int, exec_path_address: int) -> list[tuple[int, int, int, int]]:
    """The BPF program: each syscall block starts with `if nr != X: skip the block`."""
    arch, nr = ARCHES[machine]
    prog: list[tuple[int, int, int, int]] = [(LD_W_ABS, 0, 0, 4), (JEQ, 1, 0, arch), (RET, 0, 0, KILL),
                                             (LD_W_ABS, 0, 0, 0)]
    if machine == "x86_64":  # x32 syscalls share the arch value; refuse them wholesale
        prog += [(JGE, 0, 1, 0x40000000), (RET, 0, 0, _errno(ENOSYS))]

    def block(name: str, body: list[tuple[int, int, int, int]]) -> None:
        if name in nr:
            prog.append((JEQ, 0, len(body), nr[name]))
            prog.extend(body)

    def deny(name: str, code: int = EPERM) -> None:
        block(name, [(RET, 0, 0, _errno(code))])

    block("socket", [(RET, 0, 0, _errno(EACCES))])
    block("clone", [(LD_W_ABS, 0, 0, _arg(0)), (JSET, 0, 1, CLONE_THREAD), (RET, 0, 0, ALLOW),
                    (RET, 0, 0, _errno(EPERM))])
    deny("clone3", ENOSYS)  # glibc then falls back to clone(), whose flags we can see
    lo, hi = exec_path_address & 0xFFFFFFFF, exec_path_address >> 32
    # Only the execve below (same path pointer) may run; node itself never gets another one.
    block("execve", [(LD_W_ABS, 0, 0, _arg(0)), (JEQ, 0, 2, lo), (LD_W_ABS, 0, 0, _arg(0, True)),
                     (JEQ, 1, 0, hi), (RET, 0, 0, _errno(EPERM)), (RET, 0, 0, ALLOW)])
    block("kill", [(LD_W_ABS, 0, 0, _arg(0)), (JEQ, 2, 0, pid), (JEQ, 1, 0, 0), (RET, 0, 0, _errno(EPERM)),
                   (RET, 0, 0, ALLOW)])
    block("tgkill", [(LD_W_ABS, 0, 0, _arg(0)), (JEQ, 1, 0, pid), (RET, 0, 0, _errno(EPERM)), (RET, 0, 0, ALLOW)])
    for name in ("fork", "vfork", "execveat", "tkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_open",
                 "pidfd_send_signal", "pidfd_getfd", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
                 "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_by_handle_at",
                 "name_to_handle_at", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
                 "init_module", "finit_module", "delete_module", "kexec_load", "reboot"):
        deny(name)
    for name in ("io_uring_setup", "io_uring_enter", "io_uring_register"):
        deny(name, ENOSYS)  # libuv falls back to its thread pool
    prog.append((RET, 0, 0, ALLOW))
    return prog


def install_seccomp(libc: ctypes.CDLL, exec_path_address: int) -> None:
    machine = platform.machine()
    if machine not in ARCHES:
        raise OSError(f"seccomp filter not defined for {machine}")
    prog = build_filter(machine, os.getpid(), exec_path_address)
    filters = (SockFilter * len(prog))(*[SockFilter(*insn) for insn in prog])
    fprog = SockFprog(len(prog), filters)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: required for an unprivileged filter
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if prctl(22, 2, ctypes.addressof(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP failed")


def main(argv: list[str]) -> int:
    spec, command = json.loads(argv[1]), argv[2:]
    try:
        for name, value in spec.get("rlimits", {}).items():
            resource.setrlimit(getattr(resource, name), (value, value))
        libc = ctypes.CDLL(None, use_errno=True)
        path = ctypes.create_string_buffer(command[0].encode())
        args = (ctypes.c_char_p * (len(command) + 1))(*[a.encode() for a in command], None)
        env = (ctypes.c_char_p * 1)(None)  # an empty environment: no secrets, no NODE_OPTIONS
        if spec.get("seccomp"):
            install_seccomp(libc, ctypes.addressof(path))
    except (OSError, ValueError, AttributeError) as err:
        sys.stderr.write(f"drona sandbox launcher: {err}\n")
        return 97
    libc.execve(path, args, env)
    sys.stderr.write(f"drona sandbox launcher: execve failed: {os.strerror(ctypes.get_errno())}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
