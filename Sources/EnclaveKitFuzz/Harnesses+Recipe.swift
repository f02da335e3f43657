import Recipe

/// Fuzz harnesses for the Recipe module's parsers: recipe TOML (with every validation rule) and the
/// lock file's JSON. Both must throw a `RecipeError` on bad input, never crash.
let recipeHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "recipe-toml": { bytes in
        _ = try? Recipe(toml: String(decoding: bytes, as: UTF8.self), path: "fuzz/recipe.toml")
    },
    "recipe-lock": { bytes in
        _ = try? RecipeLock(json: bytes, file: "fuzz/recipe.lock")
    },
]
