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

    /// For `verify` (and `rebuild`).
    static let help = """
        Exit status: 0 verified; 1 not verified (bad signature, untrusted or repeated key, threshold \
        not met, invalid policy, manifest or key, artifact or measurement mismatch, malformed input); \
        3 verified but not reproduced (reserved for 'enclavekit rebuild'); 64 usage error.
        """

    /// For `sign` and `keygen`.
    static let signHelp = """
        Exit status: 0 written; 1 refused (key with unsafe permissions, wrong key type, already \
        signed by this key, invalid manifest or envelope, malformed input; nothing is written); \
        64 usage error.
        """
}
