import TOML
import TOMLKit

/// Reads recipe TOML into the model and checks every rule of format v1 (`Recipes/README.md`).
struct RecipeParser {
    let file: String

    static let formatVersion = 1

    /// Recipes are read up to this size (``Recipe/load(path:)`` reads no more from disk).
    static let maxBytes = 4 << 20

    func parse(_ text: String) throws -> Recipe {
        let root: TOMLTable
        do {
            root = try TOMLReader.parse(text, what: "recipe", limit: Self.maxBytes)
        } catch {
            throw RecipeError(.syntax, file: file, line: error.line, column: error.column, error.message)
        }
        let top = Fields(root, table: "", file: file)
        try top.allow([
            "recipe", "name", "version", "source-date-epoch", "inputs", "environments", "steps", "rootfs", "targets",
        ])
        guard let format = try top.int("recipe") else {
            throw top.missing("recipe", "the format version, recipe = \(Self.formatVersion)")
        }
        guard format == Self.formatVersion else {
            throw top.bad("recipe", "format version \(format) is not supported; this EnclaveKit reads recipe = 1")
        }
        let name = try top.requiredString("name")
        let version = try top.requiredString("version")
        guard !name.isEmpty, !version.isEmpty else {
            throw top.bad(name.isEmpty ? "name" : "version", "must not be empty")
        }
        guard let epoch = try top.int("source-date-epoch") else {
            throw top.missing("source-date-epoch", "an integer ≥ 0 (seconds since 1970)")
        }
        guard epoch >= 0 else { throw top.bad("source-date-epoch", "must be ≥ 0, got \(epoch)") }

        var inputs: [RecipeInput] = []
        if let table = try top.table("inputs") {
            let inputsFields = Fields(table, table: "[inputs]", file: file)
            for key in try inputsFields.keys() {
                try checkName(key, fields: inputsFields, what: "input")
                guard let sub = try inputsFields.table(key) else { continue }
                inputs.append(try parseInput(name: key, Fields(sub, table: "[inputs.\(key)]", file: file)))
            }
        }
        inputs.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let inputNames = Set(inputs.map(\.name))

        var environments: [RecipeEnvironment] = []
        if let table = try top.table("environments") {
            let environmentFields = Fields(table, table: "[environments]", file: file)
            for key in try environmentFields.keys() {
                try checkName(key, fields: environmentFields, what: "environment")
                guard let sub = try environmentFields.table(key) else { continue }
                environments.append(
                    try parseEnvironment(name: key, Fields(sub, table: "[environments.\(key)]", file: file)))
            }
        }
        environments.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let environmentNames = Set(environments.map(\.name))

        var steps: [RecipeStep] = []
        if let array = try top.array("steps") {
            for index in 0..<array.count {
                let table = "[[steps]] #\(index + 1)"
                guard let sub = array[index].table else {
                    throw RecipeError(.badValue, file: file, table: table, "each [[steps]] entry must be a table")
                }
                let step = try parseStep(
                    Fields(sub, table: table, file: file), inputNames: inputNames, earlier: steps.map(\.name),
                    environments: environmentNames)
                steps.append(step)
            }
        }
        let context = ReferenceContext(inputs: inputs, steps: Set(steps.map(\.name)))

        var rootfs = RootfsSpec()
        if let table = try top.table("rootfs") {
            rootfs = try parseRootfs(
                Fields(table, table: "[rootfs]", file: file), context: context, environments: environmentNames)
        }
        let used = Set(steps.compactMap(\.rootEnvironment) + [rootfs.baseEnvironment].compactMap { $0 })
        for environment in environments where !used.contains(environment.name) {
            throw RecipeError(
                .badValue, file: file, table: "[environments.\(environment.name)]",
                "environment '\(environment.name)' is used by no step (environment = \"\(environment.name)\") and not "
                    + "by [rootfs] (base = \"environment:\(environment.name)\"): use it or remove it")
        }

        var targets: [RecipeTarget] = []
        if let table = try top.table("targets") {
            let targetsFields = Fields(table, table: "[targets]", file: file)
            for key in try targetsFields.keys() {
                try checkName(key, fields: targetsFields, what: "target")
                guard let sub = try targetsFields.table(key) else { continue }
                let settings = try TargetParser(
                    fields: Fields(sub, table: "[targets.\(key)]", file: file), name: key, context: context
                ).parse()
                targets.append(RecipeTarget(name: key, settings: settings))
            }
        }
        targets.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }

        return Recipe(
            path: file, name: name, version: version, sourceDateEpoch: UInt64(epoch), inputs: inputs,
            environments: environments, steps: steps,
            rootfs: rootfs, targets: targets)
    }

    // MARK: - Names

    /// `[a-z0-9][a-z0-9._-]*`.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, isLowerAlnum(first) else { return false }
        return name.utf8.allSatisfy {
            isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    static func isLowerAlnum(_ c: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
    }

    func checkName(_ name: String, fields: Fields, what: String) throws {
        guard Self.isValidName(name) else {
            throw RecipeError(
                .badValue, file: file, table: fields.table,
                "\(what) name '\(name)' is not valid: use [a-z0-9][a-z0-9._-]* (lowercase letters, digits, . _ -)")
        }
    }
    // MARK: - Steps

    func parseStep(_ f: Fields, inputNames: Set<String>, earlier: [String], environments: Set<String>)
        throws -> RecipeStep
    {
        try f.allow(["name", "inputs", "run", "env", "environment"])
        let name = try f.requiredString("name")
        guard Self.isValidName(name) else {
            throw f.bad("name", "step name '\(name)' is not valid: use [a-z0-9][a-z0-9._-]*")
        }
        if inputNames.contains(name) || earlier.contains(name) {
            throw RecipeError(
                .duplicateName, file: file, table: f.table,
                "name '\(name)' is already used by \(inputNames.contains(name) ? "an input" : "an earlier step"); "
                    + "inputs and steps share one namespace")
        }
        let stepInputs = try f.stringArray("inputs") ?? []
        var seen = Set<String>()
        for input in stepInputs {
            guard seen.insert(input).inserted else { throw f.bad("inputs", "'\(input)' is listed twice") }
            if inputNames.contains(input) || earlier.contains(input) { continue }
            let problem: String
            if input == name {
                problem = "'\(input)' is this step itself"
            } else {
                problem = "'\(input)' is neither an input nor an earlier step"
            }
            throw RecipeError(
                .unknownReference, file: file, table: f.table,
                "key 'inputs': \(problem) (a step sees inputs and the steps before it)")
        }
        guard let run = try f.stringArray("run") else {
            throw f.missing("run", "the argument vector, e.g. run = [\"/inputs/zig/zig\", \"cc\", …]")
        }
        guard let first = run.first, !first.isEmpty else {
            throw f.bad("run", "must name a program: a non-empty array whose first element is not empty")
        }
        var environment: [RecipeStep.EnvironmentVariable] = []
        if let env = try f.table("env") {
            let envFields = Fields(env, table: f.table + " env", file: file)
            for key in try envFields.keys() {
                guard Self.isEnvironmentName(key) else {
                    throw envFields.bad(key, "is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
                }
                guard let value = try envFields.string(key) else { continue }
                environment.append(RecipeStep.EnvironmentVariable(key: key, value: value))
            }
        }
        environment.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let root = try f.string("environment")
        if let root, !environments.contains(root) {
            throw RecipeError(
                .unknownReference, file: file, table: f.table,
                "key 'environment': '\(root)' is not an environment of this recipe "
                    + (environments.isEmpty
                        ? "(it has no [environments] table)" : "(it has \(Self.list(environments.sorted())))"))
        }
        return RecipeStep(name: name, inputs: stepInputs, run: run, environment: environment, rootEnvironment: root)
    }

    // MARK: - Environments

    func parseEnvironment(name: String, _ f: Fields) throws -> RecipeEnvironment {
        try f.allow(["suite", "packages", "variant", "arch"])
        let suite = try f.requiredString("suite")
        guard !suite.isEmpty, suite.utf8.allSatisfy({ Self.isLowerAlnum($0) || $0 == UInt8(ascii: "-") }) else {
            throw f.bad("suite", "'\(suite)' is not a Debian suite name (e.g. bookworm)")
        }
        guard let packages = try f.stringArray("packages") else {
            throw f.missing("packages", "the packages asked for, e.g. packages = [\"python3-minimal\"]")
        }
        guard !packages.isEmpty else { throw f.bad("packages", "must name at least one package") }
        var seen = Set<String>()
        for package in packages {
            guard Self.isDebianPackage(package) else {
                throw f.bad("packages", "'\(package)' is not a Debian package name (no version or architecture here)")
            }
            guard seen.insert(package).inserted else { throw f.bad("packages", "'\(package)' is listed twice") }
        }
        var variant = RecipeEnvironment.Variant.essential
        if let text = try f.string("variant") {
            guard let parsed = RecipeEnvironment.Variant(rawValue: text) else {
                throw f.bad(
                    "variant",
                    "'\(text)' is not a variant: use \(Self.list(RecipeEnvironment.Variant.allCases.map(\.rawValue)))")
            }
            variant = parsed
        }
        let arch = try f.string("arch") ?? "amd64"
        guard arch == "amd64" else { throw f.bad("arch", "'\(arch)': only amd64 environments are built") }
        return RecipeEnvironment(name: name, suite: suite, packages: packages, variant: variant, arch: arch)
    }

    static func isEnvironmentName(_ key: String) -> Bool {
        guard let first = key.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return key.utf8.allSatisfy {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: "_")
        }
    }

    static func list(_ words: [String]) -> String { words.joined(separator: ", ") }
}
