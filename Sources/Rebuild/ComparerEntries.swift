import Archive
import EnclaveCore
import Nitro
import Recipe
import Release

extension Session {
    // MARK: - Entries

    /// Compares two member lists by path (a repeated path is matched occurrence by occurrence):
    /// removed, added, then each changed field. `nested` drills into members that are themselves
    /// EIFs, cpio or tar archives (for directories).
    func compareEntries(_ a: [TreeEntry], _ b: [TreeEntry], nested: Bool) throws {
        func keys(_ entries: [TreeEntry]) -> [[UInt8]] {
            var seen: [[UInt8]: Int] = [:]
            return entries.map { e in
                let n = (seen[e.path] ?? 0) + 1
                seen[e.path] = n
                return n == 1 ? e.path : e.path + [0] + Array(String(n).utf8)
            }
        }
        let ka = keys(a)
        let kb = keys(b)
        var indexB: [[UInt8]: Int] = [:]
        for (i, k) in kb.enumerated() { indexB[k] = i }
        var matched = Set<Int>()
        var order: [Int] = []
        let before = collector.count
        for (i, ea) in a.enumerated() {
            let label = "entry \(ea.displayPath)"
            guard let j = indexB[ka[i]] else {
                collector.add([label], expected: ea.summary, actual: nil)
                continue
            }
            matched.insert(j)
            order.append(j)
            try compareEntry(ea, b[j], label: label, nested: nested)
        }
        for (j, eb) in b.enumerated() where !matched.contains(j) {
            collector.add(["entry \(eb.displayPath)"], expected: nil, actual: eb.summary)
        }
        if collector.count == before, order != order.sorted() {
            let sortedOrder = order.sorted()
            if let p = Array(zip(order, sortedOrder)).firstIndex(where: { $0 != $1 }) {
                collector.add(
                    ["entry order"], expected: "entry \(p + 1) is \(b[sortedOrder[p]].displayPath)",
                    actual: "entry \(p + 1) is \(b[order[p]].displayPath)")
            }
        }
    }

    private func compareEntry(_ ea: TreeEntry, _ eb: TreeEntry, label: String, nested: Bool) throws {
        func field(_ name: String, _ x: String?, _ y: String?) {
            if x != y { collector.add([label, name], expected: x ?? "none", actual: y ?? "none") }
        }
        field("type", ea.kind.rawValue, eb.kind.rawValue)
        field("mode", TreeEntry.octal(ea.permissions), TreeEntry.octal(eb.permissions))
        // On-disk trees: owner and times only when asked (they record when and by whom a build ran).
        if !nested || options.directoryMetadata {
            field("uid", String(ea.uid), String(eb.uid))
            field("gid", String(ea.gid), String(eb.gid))
            field("mtime", Self.time(ea.mtime, ea.mtimeNanoseconds), Self.time(eb.mtime, eb.mtimeNanoseconds))
        }
        field(
            "link target", ea.linkTarget.map { String(decoding: $0, as: UTF8.self) },
            eb.linkTarget.map { String(decoding: $0, as: UTF8.self) })
        field("device", ea.device, eb.device)
        for (name, value) in ea.extra {
            field(name, value, eb.extra.first { $0.0 == name }?.1)
        }
        guard ea.sha256 != eb.sha256 || ea.size != eb.size else { return }
        guard let ca = ea.content, let cb = eb.content else {
            field("size", String(ea.size), String(eb.size))
            return
        }
        if nested, case .range(let pa, _) = ca, case .range(let pb, _) = cb {
            let kind = try Comparer.detectKind(pa)
            if [.eif, .cpio, .tar].contains(kind), try Comparer.detectKind(pb) == kind {
                try collector.within([label]) {
                    let index = collector.differences.count
                    collector.add(
                        ["content"], expected: "\(kind.rawValue), \(ea.size) bytes, sha256 \(ea.sha256?.hex ?? "")",
                        actual: "\(kind.rawValue), \(eb.size) bytes, sha256 \(eb.sha256?.hex ?? "")")
                    do {
                        try compareDiffering(pa, pb, kind: kind, sha: (ea.sha256 ?? [], eb.sha256 ?? []))
                    } catch let error as FormatError {
                        // A damaged file inside a tree is a difference of that tree, not a failure of the whole.
                        collector.setDetail(at: index, ["not readable as \(kind.rawValue): \(error)"])
                    }
                }
                return
            }
        }
        try contentDifference(
            [label, "content"], ca, ea.size, ea.sha256, cb, eb.size, eb.sha256,
            name: String(ea.displayPath.split(separator: "/").last ?? "entry"))
    }

    static func time(_ seconds: Int64, _ nanoseconds: Int) -> String {
        let text = EIFMetadata.rfc3339(epochSeconds: seconds)
        guard nanoseconds != 0 else { return "\(seconds) (\(text))" }
        let fraction = String(nanoseconds)
        return "\(seconds).\(String(repeating: "0", count: max(0, 9 - fraction.count)) + fraction) (\(text))"
    }
}
