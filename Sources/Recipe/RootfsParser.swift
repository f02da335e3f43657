import TOML
import TOMLKit

/// The `[rootfs]` table and the `input:`/`step:` file references it and the targets use.
extension RecipeParser {
    func parseRootfs(_ f: Fields, context: ReferenceContext, environments: Set<String>) throws -> RootfsSpec {
        try f.allow(["base", "files", "cmd", "env"])
        var base: String?
        if let text = try f.string("base") {
            guard text.hasPrefix("environment:") else {
                throw f.bad("base", "'\(text)' is not environment:NAME")
            }
            let name = String(text.dropFirst("environment:".count))
            guard environments.contains(name) else {
                throw RecipeError(
                    .unknownReference, file: file, table: f.table,
                    "key 'base': '\(name)' is not an environment of this recipe "
                        + (environments.isEmpty
                            ? "(it has no [environments] table)" : "(it has \(Self.list(environments.sorted())))"))
            }
            base = name
        }
        var files: [RootfsSpec.File] = []
        var paths = Set<String>()
        if let array = try f.array("files") {
            for index in 0..<array.count {
                let table = "[rootfs] files #\(index + 1)"
                guard let sub = array[index].table else {
                    throw RecipeError(
                        .badValue, file: file, table: table,
                        "each rootfs.files entry must be a table { path = …, from = … }")
                }
                let entry = Fields(sub, table: table, file: file)
                try entry.allow(["path", "from", "mode"])
                let rawPath = try entry.requiredString("path")
                let path = try Self.normalizeRootfsPath(rawPath, entry)
                guard paths.insert(path).inserted else {
                    throw entry.bad("path", "'\(path)' is placed twice in the root filesystem")
                }
                let fromText = try entry.requiredString("from")
                let from = try context.reference(fromText, fields: entry, key: "from")
                var mode: UInt16?
                if let value = entry.value("mode") {
                    mode = try Self.parseMode(value, entry)
                }
                files.append(RootfsSpec.File(path: path, from: from, mode: mode))
            }
        }
        let cmd = try f.stringArray("cmd") ?? []
        let env = try f.stringArray("env") ?? []
        for item in env {
            guard let eq = item.firstIndex(of: "="), Self.isEnvironmentName(String(item[..<eq])) else {
                throw f.bad("env", "'\(item)' is not KEY=value")
            }
        }
        return RootfsSpec(files: files, cmd: cmd, environment: env, baseEnvironment: base)
    }

    static func normalizeRootfsPath(_ path: String, _ f: Fields) throws -> String {
        guard path.hasPrefix("/") else {
            throw f.bad("path", "'\(path)' must be absolute in the root filesystem, e.g. /bin/node")
        }
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            if part == "." { continue }
            if part == ".." {
                throw RecipeError(.unsafePath, file: f.file, table: f.table, "key 'path': '\(path)' contains '..'")
            }
            parts.append(part)
        }
        guard !parts.isEmpty else { throw f.bad("path", "'\(path)' is the root itself; name a file below it") }
        return "/" + parts.joined(separator: "/")
    }

    static func parseMode(_ value: any TOMLValueConvertible, _ f: Fields) throws -> UInt16 {
        let parsed: Int?
        if let text = value.string {
            parsed =
                (3...4).contains(text.count) && text.allSatisfy({ ("0"..."7").contains($0) })
                ? Int(text, radix: 8) : nil
        } else {
            parsed = value.int
        }
        guard let mode = parsed, (0...0o7777).contains(mode) else {
            throw f.bad("mode", "expected octal permission bits as a string, e.g. \"0755\"")
        }
        return UInt16(mode)
    }
}

/// What `input:` and `step:` references may name.
struct ReferenceContext {
    let inputs: [RecipeInput]
    let steps: Set<String>

    func reference(_ text: String, fields f: Fields, key: String) throws -> FileReference {
        func fail(_ kind: RecipeError.Kind, _ why: String) -> RecipeError {
            RecipeError(kind, file: f.file, table: f.table, "key '\(key)': '\(text)' \(why)")
        }
        let isInput = text.hasPrefix("input:")
        guard isInput || text.hasPrefix("step:") else {
            throw fail(.badValue, "is not a file reference; use input:NAME/PATH or step:NAME/PATH")
        }
        let body = text.dropFirst(isInput ? 6 : 5)
        let name = String(body.prefix { $0 != "/" })
        var rest = body.dropFirst(name.count)
        var isDirectory = false
        if !rest.isEmpty {
            rest = rest.dropFirst()  // the slash after NAME
            if rest.isEmpty || rest.hasSuffix("/") {
                isDirectory = true
                if !rest.isEmpty { rest = rest.dropLast() }
            }
        } else if !isInput {
            throw fail(.badValue, "names no file; use step:NAME/PATH, or step:NAME/ for the whole output")
        }
        let components = rest.isEmpty ? [] : rest.split(separator: "/", omittingEmptySubsequences: false)
        for part in components {
            if part == ".." { throw fail(.unsafePath, "contains '..'; a reference may not leave its input or step") }
            if part.isEmpty { throw fail(.unsafePath, "has an empty path component (absolute or '//')") }
            if part == "." { throw fail(.badValue, "has a '.' component; write the path without it") }
        }
        if isInput {
            guard let input = inputs.first(where: { $0.name == name }) else {
                throw fail(.unknownReference, "names input '\(name)', which the recipe does not declare")
            }
            if isDirectory {
                throw fail(.badValue, "ends in '/'; only step outputs can be placed as whole directories")
            }
            if components.isEmpty, input.unpack != .none {
                throw fail(
                    .badValue, "names the whole input, but '\(name)' is unpacked (\(input.unpack.rawValue)); add a path"
                )
            }
            return FileReference(origin: .input(name), path: components.joined(separator: "/"))
        }
        guard steps.contains(name) else {
            throw fail(.unknownReference, "names step '\(name)', which the recipe does not declare")
        }
        return FileReference(origin: .step(name), path: components.joined(separator: "/"), isDirectory: isDirectory)
    }
}
