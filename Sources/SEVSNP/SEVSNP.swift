/// The `SEVSNP` module; see `../shared/docs/architecture.md` for what it owns.
public enum SEVSNPModule {
    /// The module's name, for diagnostics.
    public static let name = "SEVSNP"
}
