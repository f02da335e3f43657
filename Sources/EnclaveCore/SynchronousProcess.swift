#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The one synchronous way to run a tool: `posix_spawnp` with standard input from `/dev/null`, standard output
/// and standard error to one file, and a `waitpid` on the calling thread. For the two callers that are
/// synchronous by nature: `dpkg-source -x` while unpacking an input (Recipe's `Unpacker`), and diffoscope
/// while comparing two entries (Rebuild's `Comparer`, itself called from `rebuild`'s async code).
///
/// Async code uses Recipe's `ProcessRunner`. Never wait for an async process API by blocking the calling
/// thread from inside a task: the task that runs the process needs a thread of the same cooperative pool,
/// and on a one-CPU machine that pool has only the blocked one.
///
/// ```swift
/// let status = try SynchronousProcess.run("dpkg-source", ["-x", "a.dsc", "out"], output: "dpkg-source.log")
/// ```
public enum SynchronousProcess {
    /// Runs `program` (a path, or a name looked up on PATH) with the caller's environment and returns its
    /// exit status: 128 + the signal when one ended it, 127 when it could not start.
    public static func run(_ program: String, _ arguments: [String], output: String) throws(SystemError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { return 127 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw SystemError("wait for", path: program, errno: errno) }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
