import SGX

/// Fuzz harnesses for the SGX module's parsers.
let sgxHarnesses: [String: @Sendable ([UInt8]) -> Void] = [:]
