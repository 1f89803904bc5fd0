using System.Diagnostics.CodeAnalysis;
using ControlPlane.NodeAgent.Heartbeats;

namespace ControlPlane.NodeAgent.Replicas;

/// <summary>A replica the server asked for, checked: everything a runtime needs to start it.</summary>
/// <param name="ReplicaId">The server's id for this placement; reported back in every heartbeat.</param>
/// <param name="DeploymentId">The deployment the replica serves.</param>
/// <param name="Model">The model to load, as the engine names it (e.g. <c>meta-llama/Llama-3.1-8B-Instruct</c>).</param>
/// <param name="GpuIndices">The node's GPUs (nvidia-smi indices) the replica may use, in the order the server gave.</param>
/// <param name="SharedRequestPriority">
/// The priority at which the replica may also serve shared requests of its model (<c>low</c> on dedicated replicas);
/// null when it serves only its own deployment.
/// </param>
/// <param name="Tier">
/// The replica's tier as the server placed it (<c>reserved</c>, <c>burst</c>, <c>serverless</c>, <c>batch</c>); null from a
/// server that does not say. A replica whose tier is known may be put to sleep when it is no longer desired: a dedicated or
/// serverless one is headroom its deployment may want back in seconds; a batch one was preempted, and its backlog wants it
/// back on the same GPUs once they are free.
/// </param>
/// <param name="Image">
/// The engine's container image as the deployment names it (e.g. <c>vllm/vllm-openai:v0.11.0</c>); null when it names none.
/// Only the Kubernetes runtime uses it.
/// </param>
internal sealed record ReplicaSpec(string ReplicaId, string DeploymentId, string Model, IReadOnlyList<int> GpuIndices, string? SharedRequestPriority = null, string? Tier = null, string? Image = null)
{
    /// <summary>The server refuses a heartbeat that reports a longer replica id, so the agent never runs one.</summary>
    public const int MaxIdLength = 128;

    // The server's limit of GPUs per node.
    internal const int MaxGpuIndex = 63;
    private const int MaxTextLength = 1024;

    /// <summary>The longest image reference a replica may name (the server's limit too).</summary>
    public const int MaxImageLength = 512;

    /// <summary>A replica whose tier the server gave: its engine may sleep instead of stopping.</summary>
    public bool MaySleep => Tier is "reserved" or "burst" or "serverless" or "batch";

    /// <summary>A batch replica: its sleeping engine is the first stopped to make room, and never stops another kind's.</summary>
    public bool IsBatch => Tier is "batch";

    /// <summary>The GPU indices as <c>CUDA_VISIBLE_DEVICES</c> wants them, e.g. <c>0,1</c>.</summary>
    public string GpuList => string.Join(',', GpuIndices);

    /// <summary>Checks one entry of a heartbeat reply's <c>desired</c> list.</summary>
    /// <param name="problem">What is wrong with the entry, naming its replica id when it has one.</param>
    public static bool TryCreate(DesiredReplica? desired, [NotNullWhen(true)] out ReplicaSpec? spec, [NotNullWhen(false)] out string? problem)
    {
        spec = null;
        if (desired is null)
        {
            problem = "null instead of a replica";
            return false;
        }

        var id = desired.ReplicaId;
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength || id.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            problem = $"replicaId must be 1 to {MaxIdLength} characters without spaces or control characters, got {Quote(id)}";
            return false;
        }

        problem = CheckText(desired.DeploymentId, "deploymentId") ?? CheckText(desired.Model, "model") ?? CheckGpus(desired.GpuIndices)
            ?? CheckWord(desired.SharedRequestPriority, "sharedRequestPriority") ?? CheckWord(desired.Tier, "tier")
            ?? CheckImage(desired.Image);
        if (problem is not null)
        {
            problem = $"replica '{id}': {problem}";
            return false;
        }

        spec = new ReplicaSpec(id, desired.DeploymentId!, desired.Model!, [.. desired.GpuIndices!], desired.SharedRequestPriority, desired.Tier, desired.Image);
        return true;
    }

    /// <summary>The spec in a log line.</summary>
    public string Describe() => $"deployment {DeploymentId}, model {Model}, GPUs {GpuList}" + (Image is null ? "" : $", image {Image}");

    public bool Equals(ReplicaSpec? other) =>
        other is not null
        && string.Equals(ReplicaId, other.ReplicaId, StringComparison.Ordinal)
        && string.Equals(DeploymentId, other.DeploymentId, StringComparison.Ordinal)
        && string.Equals(Model, other.Model, StringComparison.Ordinal)
        && GpuIndices.SequenceEqual(other.GpuIndices)
        && string.Equals(SharedRequestPriority, other.SharedRequestPriority, StringComparison.Ordinal)
        && string.Equals(Tier, other.Tier, StringComparison.Ordinal)
        && string.Equals(Image, other.Image, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(ReplicaId, DeploymentId, Model, GpuList);

    // The values reach the replica's environment and the agent's log; control characters belong in neither.
    private static string? CheckText(string? value, string name) =>
        string.IsNullOrWhiteSpace(value) || value.Length > MaxTextLength || value.Any(char.IsControl)
            ? $"{name} must be 1 to {MaxTextLength} characters without control characters, got {Quote(value)}"
            : null;

    // A priority reaches the engine's command line through the environment: a short lower-case word, nothing else.
    private static string? CheckWord(string? word, string name) =>
        word is null || (word.Length is > 0 and <= 16 && word.All(char.IsAsciiLetterLower))
            ? null
            : $"{name} must be 1 to 16 lower-case letters, got {Quote(word)}";

    /// <summary>
    /// Whether <paramref name="image"/> may name a container image: what an OCI reference is made of (registry host and
    /// port, path, tag, digest), nothing that could reach a shell or a YAML document.
    /// </summary>
    public static bool IsValidImage(string? image) =>
        image is { Length: > 0 and <= MaxImageLength }
        && char.IsAsciiLetterOrDigit(image[0])
        && image.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/' or ':' or '@');

    private static string? CheckImage(string? image) =>
        image is null || IsValidImage(image)
            ? null
            : $"image must be 1 to {MaxImageLength} characters of letters, digits and . _ - / : @ (starting with a letter or digit), got {Quote(image)}";

    private static string? CheckGpus(IReadOnlyList<int>? gpus)
    {
        if (gpus is null || gpus.Count == 0)
        {
            return "gpuIndices must name at least one GPU";
        }

        if (gpus.Any(g => g is < 0 or > MaxGpuIndex))
        {
            return $"gpuIndices must be from 0 to {MaxGpuIndex}, got [{string.Join(',', gpus)}]";
        }

        return gpus.Distinct().Count() != gpus.Count ? $"gpuIndices must not repeat a GPU, got [{string.Join(',', gpus)}]" : null;
    }

    private static string Quote(string? value) =>
        value is null ? "null" : $"'{(value.Length > 60 ? value[..60] + "..." : value)}'";
}
