import ArgumentParser

/// Exit statuses of the release commands (`sign`, `verify`, and `rebuild` later), documented in
/// their `--help`.
enum ReleaseExit {
    /// Signed / verified.
    static let ok: Int32 = 0
    /// Not verified: a bad or missing signature, a threshold not met, an invalid policy, manifest or key,
    /// an artifact or measurement that does not match, malformed input.
    static let invalid: Int32 = 1
    /// The release verified but a rebuild did not reproduce it (used by `rebuild`).
    static let notReproduced: Int32 = 3
    /// The command line was wrong (swift-argument-parser's EX_USAGE).
    static let usage: Int32 = ExitCode.validationFailure.rawValue

    static let help = """
        Exit status:
          0   verified (or signed)
          1   not verified: bad signature, untrusted or repeated key, threshold not met, invalid \
        policy/manifest/key, artifact or measurement mismatch, malformed input
          3   verified but not reproduced (reserved for 'enclavekit rebuild')
          64  usage error (unknown option, missing argument)
        """
}
