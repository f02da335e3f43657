/// The reference client `sev-snp-measure` (PyPI, installed by `.ci/setup`) and the firmware files of Debian 12's
/// `ovmf` package (installed by `.ci/setup`) that tests measure with it.
public enum SEVSNPMeasure {
    /// Runs `sev-snp-measure args…` in `directory`.
    public static func run(_ args: [String], in directory: String? = nil) throws -> ToolResult {
        try ToolRunner.run("sev-snp-measure", args, in: directory)
    }

    /// Debian's OVMF: CODE alone, and VARS ‖ CODE.
    public static let debianCode = "/usr/share/OVMF/OVMF_CODE.fd"
    public static let debianFull = "/usr/share/ovmf/OVMF.fd"
    /// Debian's 4 MiB build: a GUID table but no SEV metadata.
    public static let debianCode4M = "/usr/share/OVMF/OVMF_CODE_4M.fd"
}
