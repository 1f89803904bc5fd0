using ControlPlane.NodeAgent.Models;
using ControlPlane.NodeAgent.Tests.Support;

namespace ControlPlane.NodeAgent.Tests.Models;

public sealed class ModelCacheDirectoryTests
{
    [Fact]
    public void Scan_CompleteDirectories_AreModelsWithTheirSizes_IncompleteAndHiddenOnesAreNot()
    {
        using var scratch = new ScratchDirectory();
        var root = Path.Combine(scratch.Path, "cache");
        Write(root, "llama-8b/weights.safetensors", 1_000);
        Write(root, "llama-8b/config/config.json", 24);
        Write(root, "llama-8b/.complete", 0);
        Write(root, "meta-llama/Llama-3.1-70B/model.bin", 5_000);
        Write(root, "meta-llama/Llama-3.1-70B/.complete", 0);
        Write(root, "half-done/part.bin", 700);
        Write(root, ".staging/other/.complete", 0);

        var (free, models) = new ModelCacheDirectory(root).Scan();

        Assert.Equal([("llama-8b", 1_024L), ("meta-llama/Llama-3.1-70B", 5_000L)], models);
        Assert.True(free > 0, "the free room of the test machine's temporary filesystem");
    }

    [Fact]
    public void Scan_MissingDirectory_IsAnEmptyCache()
    {
        using var scratch = new ScratchDirectory();

        var (_, models) = new ModelCacheDirectory(Path.Combine(scratch.Path, "none")).Scan();

        Assert.Empty(models);
    }

    [Fact]
    public void MarkComplete_MakesTheModelWarm_AndAChangedMarkerIsSizedAgain()
    {
        using var scratch = new ScratchDirectory();
        var cache = new ModelCacheDirectory(scratch.Path);

        cache.MarkComplete("org/model");
        Assert.Equal([("org/model", 0L)], cache.Scan().Models);

        Write(scratch.Path, "org/model/weights", 10);
        File.SetLastWriteTimeUtc(Path.Combine(scratch.Path, "org/model/.complete"), DateTime.UtcNow.AddMinutes(1));

        Assert.Equal([("org/model", 10L)], cache.Scan().Models);
        Assert.True(cache.IsComplete("org/model"));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("../etc")]
    [InlineData("org/../../x")]
    [InlineData("org//x")]
    [InlineData("/abs")]
    [InlineData(".hidden")]
    [InlineData("a\\b")]
    [InlineData("a\nb")]
    public void TryGetPath_IdsThatDoNotNameADirectoryUnderTheCache_AreRefused(string model)
    {
        Assert.False(new ModelCacheDirectory("/cache").TryGetPath(model, out _));
    }

    [Fact]
    public void TryGetPath_OrgAndName_IsANestedDirectory()
    {
        Assert.True(new ModelCacheDirectory("/cache").TryGetPath("meta-llama/Llama-3.1-8B", out var path));
        Assert.Equal("/cache/meta-llama/Llama-3.1-8B", path);
    }

    private static void Write(string root, string relative, int bytes)
    {
        var path = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, new byte[bytes]);
    }
}
