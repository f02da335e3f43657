/// EnclaveKit's own version, recorded in manifests and printed by `--version`.
public enum EnclaveKitVersion {
    public static let string = "0.1.0"
}
