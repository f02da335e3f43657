import SEVSNP

/// Fuzz harnesses for the SEVSNP module's parsers.
let snpHarnesses: [String: @Sendable ([UInt8]) -> Void] = [:]
