/// The `Rebuild` module; see `../shared/docs/architecture.md` for what it owns.
public enum RebuildModule {
    /// The module's name, for diagnostics.
    public static let name = "Rebuild"
}
