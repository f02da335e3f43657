#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Removes temporary files and directories when the process is interrupted (SIGINT, SIGTERM, SIGHUP),
/// so an interrupted command leaves the previous outputs as they were and no temporary names behind.
///
/// Writers register a cleanup when they create a temporary name (``AtomicOutput``, the build's
/// staging directory, the cache's staging directories) and unregister it once the name is renamed into
/// place or removed. The first registration installs the handlers: the signal handler itself only
/// writes the signal number to a pipe (async-signal-safe); a dedicated thread reads it, runs the
/// cleanups in reverse order under the registry's lock, and re-raises the signal with its default
/// action, so the exit status still says which signal ended the process. Renames into place run
/// inside ``critical(_:)``, which holds the same lock, so a signal never lands between "old output
/// moved aside" and "new output moved in". Handlers are reset to the default in `exec`ed children.
/// (SIGKILL cannot be caught; the build's staging names carry the PID, and a later build removes
/// those of processes that no longer exist.)
///
/// ```swift
/// let token = Interruption.register { unlink(temporaryPath) }
/// defer { Interruption.unregister(token) }
/// ```
public enum Interruption {
    /// Identifies one registered cleanup.
    public struct Token: Sendable, Hashable {
        let id: Int
    }

    /// The registered cleanups, guarded by a recursive pthread mutex (the signal thread and any
    /// thread that writes files use it). Not `Synchronization.Mutex`: ``critical(_:)`` nests (a rename
    /// inside it registers or unregisters a cleanup), which needs a recursive lock, and the signal thread
    /// takes the lock and keeps it until the process ends, outside any scoped `withLock`.
    final class Registry: @unchecked Sendable {  // every access goes through `mutex`
        let mutex: UnsafeMutablePointer<pthread_mutex_t>
        var actions: [(Int, @Sendable () -> Void)] = []
        var next = 0
        var installed = false

        init() {
            mutex = .allocate(capacity: 1)
            var attributes = pthread_mutexattr_t()
            pthread_mutexattr_init(&attributes)
            pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
            pthread_mutex_init(mutex, &attributes)
            pthread_mutexattr_destroy(&attributes)
        }

        func locked<T>(_ body: () throws -> T) rethrows -> T {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body()
        }
    }

    static let registry = Registry()
    /// The signals that run the cleanups.
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Runs `action` if the process is interrupted before ``unregister(_:)``.
    public static func register(_ action: @escaping @Sendable () -> Void) -> Token {
        registry.locked {
            installIfNeeded()
            registry.next += 1
            registry.actions.append((registry.next, action))
            return Token(id: registry.next)
        }
    }

    /// Registers the removal of a temporary file or directory tree.
    public static func removeOnInterrupt(_ path: String) -> Token {
        register { FileTree.removeTree(path) }
    }

    public static func unregister(_ token: Token) {
        registry.locked { registry.actions.removeAll { $0.0 == token.id } }
    }

    /// Runs `body` (creating a temporary name and registering its cleanup, or a rename into place and
    /// its bookkeeping) with the handlers installed and the cleanups held off until it returns.
    public static func critical<T>(_ body: () throws -> T) rethrows -> T {
        try registry.locked {
            installIfNeeded()
            return try body()
        }
    }

    /// Installs the handlers once (under the registry's lock).
    private static func installIfNeeded() {
        guard !registry.installed else { return }
        registry.installed = true
        install()
    }

    /// Runs every cleanup (newest first) and forgets them; for the signal thread and for tests.
    static func runCleanups() {
        registry.locked {
            for (_, action) in registry.actions.reversed() { action() }
            registry.actions.removeAll()
        }
    }

    private static func install() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        signalPipeWriteEnd = fds[1]
        signalPipeReadEnd = fds[0]
        // A parent may start this process with these signals blocked (seen under the test runner), and
        // every thread inherits that mask: then no thread would take the signal and it would stay
        // pending while the command finishes. Unblock them here, so this thread and the signal thread
        // (which inherits this mask) can take them.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        for sig in signals { sigaddset(&unblocked, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { _ in Interruption.waitForSignal() }, nil) == 0 else { return }
        pthread_detach(thread)
        for sig in signals {
            var action = sigaction()
            #if canImport(Darwin)
                action.__sigaction_u.__sa_handler = interruptionSignalHandler
            #else
                action.__sigaction_handler.sa_handler = interruptionSignalHandler
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
    }

    /// The signal thread: waits for a signal number, cleans up, and dies of that signal.
    private static func waitForSignal() -> UnsafeMutableRawPointer? {
        var byte: UInt8 = 0
        while true {
            let n = read(signalPipeReadEnd, &byte, 1)
            if n == 1 { break }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
        let sig = Int32(byte)
        pthread_mutex_lock(registry.mutex)  // held until the process ends: no rename races the cleanup
        for (_, action) in registry.actions.reversed() { action() }
        registry.actions.removeAll()
        signal(sig, SIG_DFL)
        // A parent may have started this process with the signal blocked (the handler still ran on a
        // thread that has it unblocked); unblock it here so the process ends by the signal itself.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, sig)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(sig)
        _exit(128 + sig)
    }
}

/// The pipe the signal handler writes to; set once, before any handler is installed.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
nonisolated(unsafe) private var signalPipeReadEnd: Int32 = -1

/// Async-signal-safe: one `write` of the signal number to the pipe.
private func interruptionSignalHandler(_ sig: Int32) {
    var byte = UInt8(truncatingIfNeeded: sig)
    _ = write(signalPipeWriteEnd, &byte, 1)
}
