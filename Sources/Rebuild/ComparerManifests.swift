import Archive
import EnclaveCore
import Nitro
import Recipe
import Release

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Session {
    // MARK: - Manifests

    func compareManifests(
        _ a: ReleaseManifest, _ b: ReleaseManifest, _ dirA: String?, _ dirB: String?
    ) throws {
        let c = collector
        func field(_ location: [String], _ x: String?, _ y: String?) {
            if x != y { c.add(location, expected: x, actual: y) }
        }
        field(["field name"], a.name, b.name)
        field(["field version"], a.version, b.version)
        field(["field enclavekitVersion"], a.enclavekitVersion, b.enclavekitVersion)
        field(["field sourceDateEpoch"], String(a.sourceDateEpoch), String(b.sourceDateEpoch))
        field(["field source.repository"], a.source?.repository, b.source?.repository)
        field(["field source.commit"], a.source?.commit, b.source?.commit)
        field(["field recipe.path"], a.recipe.path, b.recipe.path)
        field(["field recipe.sha256"], a.recipe.sha256, b.recipe.sha256)
        field(["field lock.path"], a.lock.path, b.lock.path)
        field(["field lock.sha256"], a.lock.sha256, b.lock.sha256)

        func byName<T>(_ x: [T], _ y: [T], _ name: (T) -> String, _ body: (String, T?, T?) throws -> Void) rethrows {
            for item in x { try body(name(item), item, y.first { name($0) == name(item) }) }
            for item in y where !x.contains(where: { name($0) == name(item) }) { try body(name(item), nil, item) }
        }
        // Entries paired by name: one on a single side is one difference, shown as `describe` says; `body`
        // compares a pair under its label (`input NAME`, …).
        func pairs<T>(
            _ x: [T], _ y: [T], _ kind: String, _ name: (T) -> String, describe: (T) -> String,
            _ body: (String, T, T) throws -> Void
        ) throws {
            try byName(x, y, name) { key, x, y in
                let label = "\(kind) \(key)"
                guard let x, let y else {
                    c.add([label], expected: x.map(describe), actual: y.map(describe))
                    return
                }
                try body(label, x, y)
            }
        }
        try pairs(a.inputs, b.inputs, "input", \.name, describe: { "\($0.kind) \($0.source), sha256 \($0.sha256)" }) {
            label, x, y in
            field([label, "kind"], x.kind, y.kind)
            field([label, "source"], x.source, y.source)
            if x.sha256 != y.sha256 {
                c.add([label, "sha256"], expected: x.sha256, actual: y.sha256, detail: treeChanges(x, y))
            }
        }
        try pairs(
            a.environments, b.environments, "environment", \.name,
            describe: { "\($0.packageCount) packages, sha256 \($0.sha256)" }
        ) { label, x, y in
            field([label, "packageCount"], String(x.packageCount), String(y.packageCount))
            field([label, "sha256"], x.sha256, y.sha256)
        }
        try pairs(a.artifacts, b.artifacts, "artifact", \.name, describe: { "\($0.size) bytes, sha256 \($0.sha256)" }) {
            label, x, y in
            field([label, "size"], String(x.size), String(y.size))
            field([label, "sha256"], x.sha256, y.sha256)
            guard x.sha256 != y.sha256 || x.size != y.size, let dirA, let dirB else { return }
            let pa = dirA + "/" + x.name
            let pb = dirB + "/" + x.name
            for (path, side) in [(pa, "expected"), (pb, "actual")] where access(path, F_OK) != 0 {
                c.add([label, "file"], expected: nil, actual: nil, detail: ["the \(side) artifact \(path) is missing"])
                return
            }
            try c.within([label]) {
                let ka = try Comparer.detectKind(pa)
                let kb = try Comparer.detectKind(pb)
                if ka == kb {
                    do {
                        try compare(pa, pb, kind: ka)
                    } catch let error as FormatError {
                        // A damaged rebuilt artifact is a finding of the comparison, not a failure of it.
                        c.add(
                            ["content"], expected: nil, actual: nil,
                            detail: ["not readable as \(ka.rawValue): \(error)"])
                    }
                } else {
                    c.add(["kind"], expected: ka.rawValue, actual: kb.rawValue)
                }
            }
        }
        try pairs(
            a.targets, b.targets, "target", \.name,
            describe: { target in
                "\(target.platform.rawValue): " + target.measurements.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
            }
        ) { label, x, y in
            field([label, "platform"], x.platform.rawValue, y.platform.rawValue)
            field([label, "artifacts"], x.artifacts.joined(separator: ", "), y.artifacts.joined(separator: ", "))
            byName(x.measurements, y.measurements, \.0) { register, p, q in
                field([label, "measurement \(register)"], p?.1, q?.1)
            }
            compareJSON(x.settings, y.settings, location: [label], key: "setting")
        }
    }

    /// For two `path` inputs with different digests: the files that changed, from the two trees'
    /// listings in the input cache; a line saying what is missing when only one listing is there.
    func treeChanges(_ x: ReleaseManifest.Input, _ y: ReleaseManifest.Input) -> [String] {
        guard x.kind == "path", y.kind == "path", let cache = options.inputCache
        else { return [] }
        let old = try? cache.listing(sha256: x.sha256)
        let new = try? cache.listing(sha256: y.sha256)
        if let old, let new { return TreeDigest.changes(from: old, to: new) }
        if old == nil, new == nil { return [] }
        return [
            "the changed files cannot be named: neither the lock nor this machine's cache (--cache) has the file "
                + "listing of the \(old == nil ? "expected" : "actual") tree (a lock written before enclavekit "
                + "recorded listings has none; 'enclavekit lock' records them)"
        ]
    }

    /// Objects key by key (recursively, keys joined with `.`), anything else by its compact text.
    func compareJSON(_ x: JSONValue?, _ y: JSONValue?, location: [String], key: String) {
        if case .object(let px)? = x, case .object(let py)? = y {
            for (k, v) in px {
                compareJSON(
                    v, py.first { $0.0 == k }?.1, location: location, key: key + (key.contains(" ") ? "." : " ") + k)
            }
            for (k, v) in py where !px.contains(where: { $0.0 == k }) {
                compareJSON(nil, v, location: location, key: key + (key.contains(" ") ? "." : " ") + k)
            }
            return
        }
        let sx = x?.serialized(style: .canonical)
        let sy = y?.serialized(style: .canonical)
        if sx != sy { collector.add(location + [key], expected: sx, actual: sy) }
    }
}
