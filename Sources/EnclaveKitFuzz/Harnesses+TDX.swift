import TDX

/// Fuzz harnesses for the TDX module's parsers.
let tdxHarnesses: [String: @Sendable ([UInt8]) -> Void] = [:]
