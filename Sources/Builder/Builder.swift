/// The `Builder` module; its catalog's root page (`Builder.docc/Builder.md`) says what it owns.
public enum BuilderModule {
    /// The module's name, for diagnostics.
    public static let name = "Builder"
}
