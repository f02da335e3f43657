/// The `SGX` module; see `../shared/docs/architecture.md` for what it owns.
public enum SGXModule {
    /// The module's name, for diagnostics.
    public static let name = "SGX"
}
