/// The `TDX` module; see `../shared/docs/architecture.md` for what it owns.
public enum TDXModule {
    /// The module's name, for diagnostics.
    public static let name = "TDX"
}
