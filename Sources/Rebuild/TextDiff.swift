/// A small line diff (Myers' O(ND) algorithm, "An O(ND) Difference Algorithm and Its Variations",
/// 1986) that prints a unified diff for the text entries `compare` drills into.
///
/// It is deliberately capped, because it only has to point a reader at the change: the edit distance
/// is searched up to ``maxEdits`` (beyond that the changed middle is shown as one delete/insert
/// block), and the printed output stops after `maxLines` lines with a line saying how many were cut.
///
/// ```swift
/// let lines = TextDiff.unified(Array("a\nb\n".utf8), Array("a\nc\n".utf8))
/// // ["@@ -1,2 +1,2 @@", " a", "-b", "+c"]
/// ```
public enum TextDiff {
    /// The largest edit distance searched exactly (the search keeps O(D²) integers).
    public static let maxEdits = 1000
    /// Context lines around each change, as `diff -u`.
    public static let context = 3

    enum Op: Equatable {
        case equal(Int, Int)
        case delete(Int)
        case insert(Int)
    }

    /// Whether `bytes` is diffable text: valid UTF-8 without NUL bytes.
    public static func isText(_ bytes: [UInt8]) -> Bool {
        !bytes.contains(0) && String(validating: bytes, as: UTF8.self) != nil
    }

    /// A unified diff of two texts (no `---`/`+++` header), at most `maxLines` lines plus a final
    /// line saying how many were left out. Empty when the texts are equal.
    public static func unified(_ a: [UInt8], _ b: [UInt8], maxLines: Int = 40) -> [String] {
        let la = lines(a)
        let lb = lines(b)
        let ops = diff(la, lb)
        var out: [String] = []
        for hunk in hunks(ops) {
            let first = hunk[0]
            var aStart = 0
            var bStart = 0
            var aCount = 0
            var bCount = 0
            switch first {
            case .equal(let i, let j):
                aStart = i
                bStart = j
            case .delete(let i):
                aStart = i
                bStart = position(ops, before: first, inB: true)
            case .insert(let j):
                bStart = j
                aStart = position(ops, before: first, inB: false)
            }
            var body: [String] = []
            for op in hunk {
                switch op {
                case .equal(let i, _):
                    aCount += 1
                    bCount += 1
                    body.append(contentsOf: render(" ", la[i]))
                case .delete(let i):
                    aCount += 1
                    body.append(contentsOf: render("-", la[i]))
                case .insert(let j):
                    bCount += 1
                    body.append(contentsOf: render("+", lb[j]))
                }
            }
            out.append("@@ -\(range(aStart, aCount)) +\(range(bStart, bCount)) @@")
            out.append(contentsOf: body)
        }
        if out.count > maxLines {
            let cut = out.count - maxLines
            out = Array(out.prefix(maxLines))
            out.append("… (\(cut) more diff line\(cut == 1 ? "" : "s") not shown)")
        }
        return out
    }

    /// Lines with their terminating newline kept, so a missing final newline is a difference.
    static func lines(_ bytes: [UInt8]) -> [String] {
        var result: [String] = []
        var start = 0
        for (i, c) in bytes.enumerated() where c == 0x0A {
            result.append(String(decoding: bytes[start...i], as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count { result.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return result
    }

    private static func render(_ mark: String, _ line: String) -> [String] {
        if line.hasSuffix("\n") { return [mark + line.dropLast()] }
        return [mark + line, "\\ No newline at end of file"]
    }

    private static func range(_ start: Int, _ count: Int) -> String {
        // diff -u prints the line before an empty range, 1-based.
        count == 0 ? "\(start),0" : count == 1 ? "\(start + 1)" : "\(start + 1),\(count)"
    }

    /// For a hunk that starts with a change, the index in the other file where it applies.
    private static func position(_ ops: [Op], before op: Op, inB: Bool) -> Int {
        var next = 0
        for o in ops {
            if o == op { return next }
            switch o {
            case .equal(let i, let j): next = (inB ? j : i) + 1
            case .delete(let i): if !inB { next = i + 1 }
            case .insert(let j): if inB { next = j + 1 }
            }
        }
        return next
    }

    /// Groups the operations into hunks: each change with up to ``context`` equal lines around it.
    static func hunks(_ ops: [Op]) -> [[Op]] {
        let changed = ops.indices.filter { if case .equal = ops[$0] { return false } else { return true } }
        guard !changed.isEmpty else { return [] }
        var result: [[Op]] = []
        var start = max(0, changed[0] - context)
        var end = min(ops.count, changed[0] + context + 1)
        for index in changed.dropFirst() {
            if index - context <= end {
                end = min(ops.count, index + context + 1)
            } else {
                result.append(Array(ops[start..<end]))
                start = index - context
                end = min(ops.count, index + context + 1)
            }
        }
        result.append(Array(ops[start..<end]))
        return result
    }

    /// The edit script from `a` to `b`: common prefix and suffix trimmed, Myers on the middle.
    static func diff(_ a: [String], _ b: [String]) -> [Op] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] {
            suffix += 1
        }
        var ops: [Op] = (0..<prefix).map { .equal($0, $0) }
        let midA = Array(a[prefix..<(a.count - suffix)])
        let midB = Array(b[prefix..<(b.count - suffix)])
        if let middle = myers(midA, midB) {
            for op in middle {
                switch op {
                case .equal(let i, let j): ops.append(.equal(i + prefix, j + prefix))
                case .delete(let i): ops.append(.delete(i + prefix))
                case .insert(let j): ops.append(.insert(j + prefix))
                }
            }
        } else {
            ops += midA.indices.map { .delete($0 + prefix) } + midB.indices.map { .insert($0 + prefix) }
        }
        ops += (0..<suffix).map { .equal(a.count - suffix + $0, b.count - suffix + $0) }
        return ops
    }

    /// Myers' greedy forward search with a trace for backtracking; `nil` past ``maxEdits``.
    static func myers(_ a: [String], _ b: [String]) -> [Op]? {
        let n = a.count
        let m = b.count
        let limit = min(maxEdits, n + m)
        let offset = limit + 1
        var v = [Int](repeating: 0, count: 2 * limit + 3)
        // trace[d] holds v[-d-1 ... d+1] as it was before step d.
        var trace: [[Int]] = []
        var found = false
        search: for d in 0...limit {
            trace.append(Array(v[(offset - d - 1)...(offset + d + 1)]))
            for k in stride(from: -d, through: d, by: 2) {
                var x =
                    (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                    ? v[offset + k + 1] : v[offset + k - 1] + 1
                var y = x - k
                while x < n, y < m, a[x] == b[y] {
                    x += 1
                    y += 1
                }
                v[offset + k] = x
                if x >= n, y >= m {
                    found = true
                    break search
                }
            }
        }
        guard found else { return nil }
        var ops: [Op] = []
        var x = n
        var y = m
        for d in stride(from: trace.count - 1, through: 0, by: -1) {
            let snapshot = trace[d]
            func at(_ k: Int) -> Int { snapshot[k + d + 1] }
            let k = x - y
            let prevK = (k == -d || (k != d && at(k - 1) < at(k + 1))) ? k + 1 : k - 1
            let prevX = d == 0 ? 0 : at(prevK)
            let prevY = d == 0 ? 0 : prevX - prevK
            while x > prevX, y > prevY {
                ops.append(.equal(x - 1, y - 1))
                x -= 1
                y -= 1
            }
            if d > 0 {
                if x == prevX {
                    ops.append(.insert(y - 1))
                } else {
                    ops.append(.delete(x - 1))
                }
            }
            x = prevX
            y = prevY
        }
        return ops.reversed()
    }
}
