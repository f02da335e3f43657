/// The `Release` module; see `../shared/docs/architecture.md` for what it owns.
public enum ReleaseModule {
    /// The module's name, for diagnostics.
    public static let name = "Release"
}
