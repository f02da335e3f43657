/// The `Builder` module; see `../shared/docs/architecture.md` for what it owns.
public enum BuilderModule {
    /// The module's name, for diagnostics.
    public static let name = "Builder"
}
