namespace ControlPlane.Testing;

/// <summary>Locates the repository a test runs from, so tests can reach fixtures and tools by path.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    /// <summary>The folder that holds <c>ControlPlane.sln</c>.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The npm tools folder (<c>tools/</c>) that <c>./test.sh</c> installs into.</summary>
    public static string Tools => Path.Combine(Root, "tools");

    /// <summary>A path relative to the repository root, e.g. <c>RepoPaths.Combine("deploy", "traces", "x.csv")</c>.</summary>
    public static string Combine(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ControlPlane.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No ControlPlane.sln above {AppContext.BaseDirectory}: tests must run from a build inside the repository.");
    }
}
