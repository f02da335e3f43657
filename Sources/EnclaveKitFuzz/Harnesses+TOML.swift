import TOML
import TOMLKit

/// Fuzz harness for the shared TOML reader (its guards, then toml++ through TOMLKit) on its own, without a
/// recipe's or a manifest's rules after it: any bytes must parse or throw `TOMLReadError`, never crash.
/// Every key and value is then read back through TOMLKit's C bridge, as the recipe and manifest readers do.
let tomlHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "toml": { bytes in
        guard let table = try? TOMLReader.parse(bytes, what: "document", limit: 1 << 20) else { return }
        walk(table)
    }
]

private func walk(_ value: any TOMLValueConvertible) {
    if let table = value.table {
        for key in table.keys {
            if let child = table[key] { walk(child) }
        }
    } else if let array = value.array {
        for index in 0..<array.count { walk(array[index]) }
    } else {
        _ = value.string
        _ = value.int
        _ = value.bool
        _ = value.double
    }
}
