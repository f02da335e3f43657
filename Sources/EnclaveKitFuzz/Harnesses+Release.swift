import Release

/// Fuzz harnesses for the Release module's parsers.
let releaseHarnesses: [String: @Sendable ([UInt8]) -> Void] = [:]
