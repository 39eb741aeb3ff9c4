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
    DeepCall = 0x1A


class ExitCode:
    Ok = 0
    Usage = 2
    WorkerBootError = 3
    AppLoadError = 4
    SupervisorGone = 5
    AppExit = 6


class ShimEnv:
    socket = "BALLOON_SOCKET"
    config = "BALLOON_CONFIG"
    workerId = "BALLOON_WORKER_ID"


# Ours alone (not in shim-protocol.ts): set before the re-exec that applies a new RLIMIT_STACK,
# so a limit the kernel will not give cannot make the shim re-exec forever.
STACK_REEXEC_ENV = "BALLOON_STACK_REEXEC"


# Ours alone: set, the worker behaves as where /proc/self/clear_refs cannot be written
# (gVisor, WSL1), so the tests can reach the RSS-only accounting.
NO_CLEAR_REFS_ENV = "BALLOON_SIMULATE_NO_CLEAR_REFS"


# wire.ts MAX_FRAME_BYTES: bigger frames are a protocol error.
MAX_FRAME_BYTES = 256 * 1024 * 1024

# shim-protocol.ts BODY_CHUNK_BYTES: the largest Body frame payload a worker sends (the
# measurement that chose it is there).
BODY_CHUNK_BYTES = 1024 * 1024
