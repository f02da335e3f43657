import Nitro

/// Fuzz harnesses for the Nitro module's parsers.
let nitroHarnesses: [String: @Sendable ([UInt8]) -> Void] = [:]
