import ArgumentParser

/// Exit statuses of the release commands (`keygen`, `sign`, `verify`, `policy`, `rebuild`, `compare`),
/// documented in their `--help`.
enum ReleaseExit {
    /// Signed / verified.
    static let ok: Int32 = 0
    /// Not verified: a bad or missing signature, a threshold not met, an invalid policy, manifest or key,
    /// an artifact or measurement that does not match, malformed input.
    static let invalid: Int32 = 1
    /// The release verified but a rebuild did not reproduce it (`rebuild`), or the two compared
    /// releases differ (`compare`). `verify` never exits 3.
    static let notReproduced: Int32 = 3
    /// The command line was wrong (swift-argument-parser's EX_USAGE).
    static let usage: Int32 = ExitCode.validationFailure.rawValue

    /// For `verify`.
    static let help = """
        Exit status: 0 verified; 1 not verified (bad signature, untrusted or repeated key, threshold \
        not met, invalid policy, manifest or key, artifact or measurement mismatch, malformed input); \
        64 usage error. (Exit 3 is 'enclavekit rebuild' and 'compare' saying the release was not \
        reproduced; verify never returns it.)
        """

    /// For `sign` and `keygen`.
    static let signHelp = """
        Exit status: 0 written; 1 refused (key with unsafe permissions, wrong key type, already \
        signed by this key, an output file that exists and holds another manifest or is not an \
        envelope, invalid manifest or envelope, malformed input, a failed write such as a full disk; \
        nothing is written and the previous file is left as it was); 64 usage error.
        """
}
