import Recipe
import Registry

/// The Registry module's network and Docker config parsers (``RegistryFuzz``) and the Debian source control
/// file (`.dsc`) reader of `debian-source` inputs: hostile bytes must give an error, never a crash.
let registryHarnesses: [String: @Sendable ([UInt8]) -> Void] = RegistryFuzz.harnesses.merging([
    "recipe-dsc": { bytes in
        _ = try? DebianSource.control(ofDSC: bytes, name: "fuzz/source.dsc")
        _ = try? DebianSource.files(inDSC: bytes, name: "fuzz/source.dsc")
    }
]) { a, _ in a }
