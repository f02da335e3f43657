import Dispatch

/// Runs async work from synchronous code (a `ParsableCommand.run()`, or the synchronous comparison that
/// calls diffoscope), waiting for its result: a detached task does the work while this thread waits.
///
/// ```swift
/// let report = try Blocking.run { try await Locker(recipe: recipe, cache: .default()).lock() }
/// ```
public enum Blocking {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                box.result = .success(try await body())
            } catch {
                box.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try box.result.get()
    }
}

/// `@unchecked Sendable`: written once by the task before it signals the semaphore, read only after
/// the wait returns, so the semaphore orders every access. The task always writes a result; the
/// initial value only stands in until it does.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error> = .failure(CancellationError())
}
