namespace ControlPlane.NodeAgent.Models;

/// <summary>The model cache the agent reports (<c>--model-cache</c>) and how it prefetches into it.</summary>
/// <param name="Directory">The cache's root directory; created at start when missing.</param>
/// <param name="PrefetchCommand"><c>--prefetch-command</c>; null: prefetch lists are ignored (unless simulated).</param>
/// <param name="SimulatedPrefetchTime">For <c>--runtime simulated</c>: how long a pretend prefetch takes; null otherwise.</param>
internal sealed record ModelCacheOptions(string Directory, string? PrefetchCommand, TimeSpan? SimulatedPrefetchTime)
{
    public ModelCache Create(AgentLog log, TimeProvider time)
    {
        IModelFetcher? fetcher = SimulatedPrefetchTime is { } simulated ? new SimulatedModelFetcher(simulated, time)
            : PrefetchCommand is { } command ? new CommandModelFetcher(command)
            : null;
        return new ModelCache(new ModelCacheDirectory(Directory), fetcher, log, time);
    }
}
