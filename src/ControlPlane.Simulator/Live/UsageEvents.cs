using System.Globalization;
using ControlPlane.Simulator.Simulation;

namespace ControlPlane.Simulator.Live;

/// <summary>One usage event as <c>POST /gateway/v1/usage</c> takes it.</summary>
internal sealed record UsageEvent(
    string EventId,
    string CustomerId,
    string DeploymentId,
    string Model,
    long InputTokens,
    long OutputTokens,
    DateTimeOffset Timestamp);

/// <summary>A usage batch as <c>POST /gateway/v1/usage</c> takes it; resent as it is, it counts nothing twice.</summary>
internal sealed record UsageBatch(string BatchId, IReadOnlyList<UsageEvent> Events)
{
    public long InputTokens => Events.Sum(e => e.InputTokens);

    public long OutputTokens => Events.Sum(e => e.OutputTokens);
}

/// <summary>Who the metered requests of a deployment belong to, and what they ran.</summary>
internal sealed record MeteredDeployment(string DeploymentId, string CustomerId, string Model);

/// <summary>
/// Turns the trace requests a deployment served in one interval into a usage batch. An event's id is the run, the
/// loop over the trace and the request's row, so a resent batch carries the same ids (the ledger counts each event
/// once) while a second run against the same server, or the next loop over the trace, is new usage.
/// </summary>
internal static class UsageEvents
{
    /// <summary>
    /// At most this many events a batch: an interval with more requests (the process was paused, say) sends runs of
    /// consecutive requests as one event each, their tokens summed.
    /// </summary>
    public const int MaxEventsPerBatch = 200;

    /// <summary>
    /// The batch for <paramref name="requests"/>, replayed between trace times <paramref name="traceFrom"/> and
    /// <paramref name="traceTo"/>, i.e. between the instants <paramref name="from"/> and <paramref name="to"/>; each
    /// event's timestamp is where its request falls in that interval. Null when there are no requests.
    /// </summary>
    /// <param name="runId">Names this run of the gateway: letters, digits and '-'.</param>
    /// <param name="sequence">The interval's number in the run: the batch id.</param>
    public static UsageBatch? Build(
        string runId,
        long sequence,
        MeteredDeployment deployment,
        IReadOnlyList<TraceRequest> requests,
        (double From, double To) trace,
        (DateTimeOffset From, DateTimeOffset To) at)
    {
        if (requests.Count == 0)
        {
            return null;
        }

        var perEvent = (requests.Count + MaxEventsPerBatch - 1) / MaxEventsPerBatch;
        var events = new List<UsageEvent>((requests.Count + perEvent - 1) / perEvent);
        for (var i = 0; i < requests.Count; i += perEvent)
        {
            var group = requests.Skip(i).Take(perEvent).ToArray();
            var first = group[0];
            var id = string.Create(CultureInfo.InvariantCulture, $"{deployment.DeploymentId}/{runId}/{first.Loop}/{first.Index}");
            events.Add(new UsageEvent(
                group.Length == 1 ? id : string.Create(CultureInfo.InvariantCulture, $"{id}+{group.Length}"),
                deployment.CustomerId,
                deployment.DeploymentId,
                deployment.Model,
                group.Sum(r => r.InputTokens),
                group.Sum(r => r.OutputTokens),
                Timestamp(first.TraceSeconds, trace, at)));
        }

        return new UsageBatch(string.Create(CultureInfo.InvariantCulture, $"{deployment.DeploymentId}/{runId}/{sequence}"), events);
    }

    /// <summary>A name for a run that started at <paramref name="startedAt"/>: the instant, to the millisecond.</summary>
    public static string RunId(DateTimeOffset startedAt) =>
        startedAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Timestamp(double traceSeconds, (double From, double To) trace, (DateTimeOffset From, DateTimeOffset To) at)
    {
        var fraction = trace.To > trace.From ? Math.Clamp((traceSeconds - trace.From) / (trace.To - trace.From), 0, 1) : 0;
        return at.From + (at.To - at.From) * fraction;
    }
}
