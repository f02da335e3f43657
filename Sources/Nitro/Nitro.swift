/// The `Nitro` module; see `../shared/docs/architecture.md` for what it owns.
public enum NitroModule {
    /// The module's name, for diagnostics.
    public static let name = "Nitro"
}
