import EnclaveCore
import Recipe

/// The cache key of a step's output: the sha256 of a canonical JSON object holding everything the
/// output may depend on (the EnclaveKit version and sandbox profile, SOURCE_DATE_EPOCH, the step's
/// name, arguments and environment, and for each input it sees the pinned digest and unpack mode, or
/// for an earlier step that step's key, and the name and sha256 of the environment it runs in). Change any
/// of them and the step runs again.
///
/// ```swift
/// let key = StepKey.compute(step: step, recipe: recipe, inputDigests: [("zig", "input:ab…:zip")])
/// ```
enum StepKey {
    /// Bump when the sandbox's environment or layout changes what a step can observe.
    static let sandboxProfile = 2

    /// `environment` is the assembled environment of a step with `environment = "NAME"`: its name and
    /// sha256 join the key (a step without one keeps the key it always had).
    static func compute(
        step: RecipeStep, recipe: Recipe, inputDigests: [(String, String)], environment: AssembledEnvironment? = nil
    ) -> String {
        var fields: [(String, JSONValue)] = [
            ("enclavekit", .string(EnclaveKitVersion.string)),
            ("sandbox", .int(sandboxProfile)),
            ("sourceDateEpoch", .int(recipe.sourceDateEpoch)),
            ("name", .string(step.name)),
            ("run", .array(step.run.map { .string($0) })),
            ("env", .array(step.environment.map { .array([.string($0.key), .string($0.value)]) })),
            ("inputs", .array(inputDigests.map { .array([.string($0.0), .string($0.1)]) })),
        ]
        if let environment {
            fields.append(("environment", .array([.string(environment.name), .string(environment.sha256)])))
        }
        let value: JSONValue = .object(fields)
        return Digest.sha256(Array(value.serialized(style: .canonical).utf8)).hex
    }
}
