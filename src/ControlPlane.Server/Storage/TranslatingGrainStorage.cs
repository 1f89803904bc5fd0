using System.Data.Common;
using ControlPlane.Contracts;
using Orleans.Storage;

namespace ControlPlane.Server.Storage;

/// <summary>
/// The ADO.NET grain storage with its database failures turned into <see cref="StorageUnavailableException"/>, at the
/// source: a grain whose state cannot be read while it activates fails with our type too (the activation failure is
/// sent back to the caller, possibly on another silo, which could not read a driver exception). Everything else passes
/// through unchanged, the provider's own start-up included.
/// </summary>
public sealed class TranslatingGrainStorage(IGrainStorage inner) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        TranslateAsync(() => inner.ReadStateAsync(stateName, grainId, grainState), "read", stateName, grainId);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        TranslateAsync(() => inner.WriteStateAsync(stateName, grainId, grainState), "write", stateName, grainId);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        TranslateAsync(() => inner.ClearStateAsync(stateName, grainId, grainState), "clear", stateName, grainId);

    public void Participate(ISiloLifecycle lifecycle)
    {
        if (inner is ILifecycleParticipant<ISiloLifecycle> participant)
        {
            participant.Participate(lifecycle);
        }
    }

    private static async Task TranslateAsync(Func<Task> operation, string verb, string stateName, GrainId grainId)
    {
        try
        {
            await operation();
        }
        catch (DbException e)
        {
            throw StorageFailures.Translate(e, $"{verb} of {stateName} for {grainId}");
        }
    }
}
