using ControlPlane.Server.Hosting;

namespace ControlPlane.Server.Diagnostics;

/// <summary>
/// The least a grain call can do: one activation per key, like a node grain, answering at once. The
/// baseline that heartbeats are measured against.
/// </summary>
[Alias("IEchoBaselineGrain")]
public interface IEchoBaselineGrain : IGrainWithStringKey
{
    [Alias("EchoAsync")]
    Task<long> EchoAsync(long sequence);
}

public sealed class EchoBaselineGrain : Grain, IEchoBaselineGrain
{
    public Task<long> EchoAsync(long sequence) => Task.FromResult(sequence);
}

/// <summary>A plain grain-state write: what usage ingestion is measured against.</summary>
[Alias("IStateWriteBaselineGrain")]
public interface IStateWriteBaselineGrain : IGrainWithStringKey
{
    [Alias("WriteAsync")]
    Task WriteAsync(string payload);
}

[GenerateSerializer, Alias("StateWriteBaselineState")]
public sealed record StateWriteBaselineState
{
    [Id(0)]
    public string Payload { get; init; } = "";

    [Id(1)]
    public long Writes { get; init; }
}

public sealed class StateWriteBaselineGrain(
    [PersistentState("baseline", OrleansHosting.StorageName)] IPersistentState<StateWriteBaselineState> state)
    : Grain, IStateWriteBaselineGrain
{
    public async Task WriteAsync(string payload)
    {
        state.State = new StateWriteBaselineState { Payload = payload, Writes = state.State.Writes + 1 };
        await state.WriteStateAsync();
    }
}
