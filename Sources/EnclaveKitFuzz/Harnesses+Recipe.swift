import Recipe

/// Fuzz harnesses for the Recipe module's parsers.
let recipeHarnesses: [String: @Sendable ([UInt8]) -> Void] = [:]
