/// The `Archive` module; see `../shared/docs/architecture.md` for what it owns.
public enum ArchiveModule {
    /// The module's name, for diagnostics.
    public static let name = "Archive"
}
