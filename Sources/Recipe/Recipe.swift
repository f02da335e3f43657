/// The `Recipe` module; see `../shared/docs/architecture.md` for what it owns.
public enum RecipeModule {
    /// The module's name, for diagnostics.
    public static let name = "Recipe"
}
