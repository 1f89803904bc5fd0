using System.Diagnostics.CodeAnalysis;

namespace ControlPlane.NodeAgent.Models;

/// <summary>
/// The node's local model cache (<c>--model-cache DIR</c>): one directory per model, named by the model id (a
/// model <c>org/name</c> lives in <c>DIR/org/name</c>). A model counts as warm only once its directory holds the
/// <see cref="CompleteMarker"/> file, which a prefetch writes when it has finished (the agent writes it after the
/// prefetch command exits 0), so a download cut short is never taken for weights.
/// </summary>
internal sealed class ModelCacheDirectory(string root)
{
    /// <summary>The file that marks a model's directory complete.</summary>
    public const string CompleteMarker = ".complete";

    /// <summary>The server takes at most this many models from one node.</summary>
    public const int MaxModels = 256;

    /// <summary>The server's limit on a model id's length.</summary>
    public const int MaxModelLength = 200;

    // Model ids have at most a few '/'-separated parts (org/name); deeper directories are not looked into.
    private const int MaxDepth = 4;

    private readonly Dictionary<string, (DateTime Marker, long Bytes)> _sizes = new(StringComparer.Ordinal);

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>
    /// Where <paramref name="model"/>'s weights go, or false when the id cannot name a directory under the cache
    /// (empty parts, <c>.</c> or <c>..</c>, a part starting with '.', control characters, too long).
    /// </summary>
    public bool TryGetPath(string? model, [NotNullWhen(true)] out string? path)
    {
        path = null;
        if (string.IsNullOrWhiteSpace(model) || model.Length > MaxModelLength || model.Any(char.IsControl) || model.Contains('\\'))
        {
            return false;
        }

        var parts = model.Split('/');
        if (parts.Length > MaxDepth || parts.Any(p => p.Length == 0 || p.StartsWith('.') || p.Trim().Length != p.Length))
        {
            return false;
        }

        path = Path.Combine([Root, .. parts]);
        return true;
    }

    /// <summary>The complete models and their sizes, and the free room left on the cache's filesystem.</summary>
    public (long FreeBytes, IReadOnlyList<(string Model, long Bytes)> Models) Scan()
    {
        var models = new List<(string Model, long Bytes)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Walk(Root, "", 0, models, seen);
        foreach (var gone in _sizes.Keys.Where(k => !seen.Contains(k)).ToArray())
        {
            _sizes.Remove(gone);
        }

        models.Sort((a, b) => string.CompareOrdinal(a.Model, b.Model));
        return (FreeBytes(), models);
    }

    /// <summary>Marks <paramref name="model"/>'s directory complete (creating it if needed).</summary>
    public void MarkComplete(string model)
    {
        if (!TryGetPath(model, out var path))
        {
            return;
        }

        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, CompleteMarker), "");
    }

    public bool IsComplete(string model) => TryGetPath(model, out var path) && File.Exists(Path.Combine(path, CompleteMarker));

    private long FreeBytes()
    {
        try
        {
            // On Linux DriveInfo asks statvfs about the path itself, so it is the cache's own filesystem.
            return Math.Max(0, new DriveInfo(Root).AvailableFreeSpace);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return 0;
        }
    }

    private void Walk(string directory, string prefix, int depth, List<(string Model, long Bytes)> models, HashSet<string> seen)
    {
        if (depth >= MaxDepth || models.Count >= MaxModels)
        {
            return;
        }

        IEnumerable<string> children;
        try
        {
            children = Directory.EnumerateDirectories(directory).Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var child in children)
        {
            var name = Path.GetFileName(child);
            // Hidden directories are a fetch tool's staging area, not models.
            if (name.StartsWith('.') || models.Count >= MaxModels)
            {
                continue;
            }

            var model = prefix.Length == 0 ? name : $"{prefix}/{name}";
            var marker = Path.Combine(child, CompleteMarker);
            if (File.Exists(marker))
            {
                if (model.Length <= MaxModelLength && !model.Any(char.IsControl))
                {
                    seen.Add(model);
                    models.Add((model, SizeOf(model, child, marker)));
                }

                continue;
            }

            Walk(child, model, depth + 1, models, seen);
        }
    }

    // Weights do not change once complete: a model's size is summed again only when its marker is rewritten.
    private long SizeOf(string model, string directory, string marker)
    {
        DateTime written;
        try
        {
            written = File.GetLastWriteTimeUtc(marker);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            written = DateTime.MinValue;
        }

        if (_sizes.TryGetValue(model, out var known) && known.Marker == written)
        {
            return known.Bytes;
        }

        long bytes = 0;
        try
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 }))
            {
                bytes += file.Length;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Counted as far as it could be read.
        }

        _sizes[model] = (written, bytes);
        return bytes;
    }
}
