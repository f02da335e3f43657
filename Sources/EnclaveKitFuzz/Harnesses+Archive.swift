import Archive

/// Fuzz harnesses for the Archive module's parsers.
let archiveHarnesses: [String: @Sendable ([UInt8]) -> Void] = [:]
