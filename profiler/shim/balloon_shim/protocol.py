"""Frame codes, exit codes and environment names of the supervisor <-> shim protocol.

Mirrors profiler/supervisor/shim-protocol.ts (the source of truth, with the JSON shapes of every payload);
test/unit/protocol.test.mjs checks that the names and values agree, so keep one
`Name = value` per line, spelled as in shim-protocol.ts.
"""


class Frame:
    # supervisor -> worker / master
    Request = 0x01
    Stop = 0x02
    Fork = 0x03
    # worker / master -> supervisor
    Hello = 0x10
    ResponseStart = 0x11
    Body = 0x12
    ResponseEnd = 0x13
    FullResponse = 0x14
    Log = 0x15
    Fatal = 0x16
    MasterReady = 0x17
    Forked = 0x18
    ChildExit = 0x19


class ExitCode:
    Ok = 0
    Usage = 2
    WorkerBootError = 3
    AppLoadError = 4
    SupervisorGone = 5


class ShimEnv:
    socket = "BALLOON_SOCKET"
    config = "BALLOON_CONFIG"
    workerId = "BALLOON_WORKER_ID"


# Ours alone (not in shim-protocol.ts): set before the re-exec that applies a new RLIMIT_STACK,
# so a limit the kernel will not give cannot make the shim re-exec forever.
STACK_REEXEC_ENV = "BALLOON_STACK_REEXEC"


# wire.ts MAX_FRAME_BYTES: bigger frames are a protocol error.
MAX_FRAME_BYTES = 256 * 1024 * 1024
