import EnclaveCore
import OVMF
import Rebuild

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

// Fuzz harnesses for every parser that reads untrusted bytes.
//
// Built with `swift build --product enclavekit-fuzz -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING`
// this is a libFuzzer binary; the harness is chosen by the FUZZ_TARGET environment variable.
// Built normally it replays files through the same harness (`enclavekit-fuzz TARGET FILE...`), so a
// crash found once stays a regression test (see `.ci/fuzz`).

/// Each harness parses hostile bytes. Throwing is the expected outcome; crashing is a bug.
/// Each area adds its harnesses in its own file (`Harnesses+Nitro.swift`, …).
let harnesses: [String: @Sendable ([UInt8]) -> Void] =
    coreHarnesses
    .merging(nitroHarnesses) { a, _ in a }
    .merging(archiveHarnesses) { a, _ in a }
    .merging(sgxHarnesses) { a, _ in a }
    .merging(tdxHarnesses) { a, _ in a }
    .merging(snpHarnesses) { a, _ in a }
    .merging(releaseHarnesses) { a, _ in a }
    .merging(recipeHarnesses) { a, _ in a }
    .merging(tomlHarnesses) { a, _ in a }
    .merging(dcapHarnesses) { a, _ in a }
    .merging(RebuildFuzz.harnesses) { a, _ in a }
    .merging(attestationHarnesses) { a, _ in a }
    .merging(registryHarnesses) { a, _ in a }

let coreHarnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "ovmf-guid-table": { bytes in _ = try? OVMFGUIDTable(firmware: bytes) }
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let name = getenv("FUZZ_TARGET").map({ String(cString: $0) }), let harness = harnesses[name] else {
        StandardError.write("set FUZZ_TARGET to one of: \(harnesses.keys.sorted().joined(separator: ", "))\n")
        exit(2)
    }
    harness(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

#if FUZZING
    /// libFuzzer's entry point for programs that keep their own `main` (SwiftPM renames `main`).
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32
#endif

@main
enum FuzzMain {
    static func main() throws {
        #if FUZZING
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOne))
        #else
            let args = Array(CommandLine.arguments.dropFirst())
            guard let name = args.first, let harness = harnesses[name] else {
                print(
                    "usage: enclavekit-fuzz TARGET FILE...  (targets: \(harnesses.keys.sorted().joined(separator: ", ")))"
                )
                exit(2)
            }
            for path in args.dropFirst() {
                harness(try FileInput.contents(of: path, limit: 256 << 20))
            }
            print("replayed \(args.count - 1) inputs through \(name)")
        #endif
    }
}
