using ControlPlane.Domain.Deployments;

namespace ControlPlane.Domain.Fleet;

/// <summary>A model whose weights a node holds complete in its local model cache, and their size on disk.</summary>
[GenerateSerializer, Alias("warm-model")]
public sealed record WarmModel(
    [property: Id(0)] string Model,
    [property: Id(1)] long Bytes);

/// <summary>A prefetch the node's agent tried and could not finish.</summary>
/// <param name="Attempts">How many times the agent has tried this model; a higher count is a new failure.</param>
/// <param name="Error">What went wrong, as the agent said it.</param>
[GenerateSerializer, Alias("prefetch-failure")]
public sealed record PrefetchFailure(
    [property: Id(0)] string Model,
    [property: Id(1)] int Attempts,
    [property: Id(2)] string Error);

/// <summary>The bounds and change rules of a node's model-cache report.</summary>
public static class ModelCache
{
    /// <summary>Models one node may report (warm, or failed prefetches) and the longest prefetch list it is sent.</summary>
    public const int MaxModels = 256;

    /// <summary>Largest size a model, or a cache's free room, may be reported with: 1 PiB.</summary>
    public const long MaxBytes = 1L << 50;

    public const int MaxErrorLength = 500;

    /// <summary>
    /// Free room changes all the time (logs, other files); the scheduler hears of it only when it moved by at least
    /// 1 GiB or 1% of what it last heard, so a steady node still costs nothing per heartbeat.
    /// </summary>
    public const long FreeBytesStep = 1L << 30;

    /// <summary>Whether <paramref name="now"/> differs enough from <paramref name="told"/> to be stored and told.</summary>
    public static bool FreeBytesChanged(long? told, long? now)
    {
        if (told is null || now is null)
        {
            return told != now;
        }

        var step = Math.Max(FreeBytesStep, told.Value / 100);
        return Math.Abs(now.Value - told.Value) >= step;
    }

    /// <summary>Whether two lists hold the same models with the same sizes, in any order.</summary>
    public static bool SameModels(IReadOnlyCollection<WarmModel> a, IReadOnlyCollection<WarmModel> b) =>
        a.Count == b.Count && a.ToHashSet().SetEquals(b);

    /// <summary>Whether two failure lists are the same, in any order.</summary>
    public static bool SameFailures(IReadOnlyCollection<PrefetchFailure> a, IReadOnlyCollection<PrefetchFailure> b) =>
        a.Count == b.Count && a.ToHashSet().SetEquals(b);

    /// <summary>Whether <paramref name="model"/> may name a model: the rule of <see cref="DeploymentSpec.Model"/>.</summary>
    public static bool IsValidModel(string? model) => DeploymentSpec.IsValidModel(model);
}
