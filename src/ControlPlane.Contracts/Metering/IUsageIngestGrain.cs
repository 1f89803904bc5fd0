namespace ControlPlane.Contracts.Metering;

/// <summary>
/// The entry of usage batches: a stateless worker on every silo that prices events, finds the ledger
/// (contract or pay-as-you-go) of each, and sends them to their ledger-day buckets.
/// </summary>
[Alias("IUsageIngestGrain")]
public interface IUsageIngestGrain : IGrainWithIntegerKey
{
    /// <summary>Counts a batch; returns once every new event in it is durable.</summary>
    [Alias("IngestAsync")]
    Task<IngestResult> IngestAsync(UsageBatch batch);
}

/// <summary>A batch of usage events from the inference gateway.</summary>
[GenerateSerializer, Alias("usage-batch")]
public sealed record UsageBatch(
    [property: Id(0)] string BatchId,
    [property: Id(1)] List<UsageEvent> Events);

/// <summary>One metered request.</summary>
// Immutable: within a silo a batch's thousands of events are passed, not copied, from grain to grain.
[GenerateSerializer, Immutable, Alias("usage-event")]
public sealed record UsageEvent(
    [property: Id(0)] string EventId,
    [property: Id(1)] string CustomerId,
    [property: Id(2)] string DeploymentId,
    [property: Id(3)] string Model,
    [property: Id(4)] long InputTokens,
    [property: Id(5)] long OutputTokens,
    [property: Id(6)] DateTimeOffset Timestamp);

/// <summary>The outcome of a batch: counts, or the events that made it invalid (then nothing was counted).</summary>
[GenerateSerializer, Alias("ingest-result")]
public sealed record IngestResult(
    [property: Id(0)] int Accepted,
    [property: Id(1)] int Duplicates,
    [property: Id(2)] Dictionary<string, string[]>? Errors);
