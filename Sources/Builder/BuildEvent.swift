import EnclaveCore

/// What a build is doing, as it does it: ``ReleaseBuilder/build(_:)`` hands each event to
/// ``BuildOptions/events`` (the command-line tool draws a status line from them; the builder itself writes
/// nothing to the terminal). Seconds are wall time on the monotonic clock and never reach an artifact.
///
/// A build that runs to the end emits, in order: ``fetchingInputs(count:)``, ``fetchedInputs(count:seconds:)``,
/// then either ``upToDate`` (nothing to rebuild) or ``assemblingEnvironment(name:)`` per environment,
/// ``assembledEnvironments(count:seconds:)`` (only when there are any), per step ``stepCached(number:of:name:seconds:)``
/// or ``stepStarted(number:of:name:)`` and ``stepRan(number:of:name:seconds:)``,
/// ``packingTargets(count:)`` and ``packedTargets(count:seconds:)``. ``note(_:)`` may come at any point.
///
/// ```swift
/// var options = BuildOptions(recipePath: "recipe.toml")
/// options.events = { event in if case .stepRan(_, _, let name, let seconds) = event { log(name, seconds) } }
/// ```
public enum BuildEvent: Sendable, Equatable {
    /// Resolving and fetching the recipe's inputs.
    case fetchingInputs(count: Int)
    /// Every input is in the cache and verified.
    case fetchedInputs(count: Int, seconds: Double)
    /// The output already holds this build: the build ends here.
    case upToDate
    /// Assembling one Debian environment.
    case assemblingEnvironment(name: String)
    /// Every environment the recipe uses is assembled (not emitted when it uses none).
    case assembledEnvironments(count: Int, seconds: Double)
    /// Step `number` (from 1) of `of` took its output from the step cache.
    case stepCached(number: Int, of: Int, name: String, seconds: Double)
    /// Step `number` of `of` starts in the sandbox.
    case stepStarted(number: Int, of: Int, name: String)
    /// Step `number` of `of` ran in the sandbox.
    case stepRan(number: Int, of: Int, name: String, seconds: Double)
    /// Building the root filesystem, the target images and their measurements.
    case packingTargets(count: Int)
    /// The targets and the manifest are in place: the build ends here.
    case packedTargets(count: Int, seconds: Double)
    /// Something the user should know that does not stop the build (`the unpacked cache of input 'src'
    /// changed; unpacking it again`); shown even when progress is not.
    case note(String)
}

/// Receives a build's ``BuildEvent``s, from the task running the build.
public typealias BuildEventHandler = @Sendable (BuildEvent) -> Void

/// Wall-clock laps for the build events and summary (monotonic clock; never written into any artifact).
struct Stopwatch {
    private var last = Stopwatch.now()

    static func now() -> Double { MonotonicClock.seconds() }

    /// Seconds since the previous lap (or the start).
    mutating func lap() -> Double {
        let t = Self.now()
        defer { last = t }
        return t - last
    }
}
