namespace ControlPlane.Grains.Tests.Storage;

/// <summary>A grain that exposes its persistent state and reminders, to test storage providers.</summary>
[Alias("ControlPlane.Grains.Tests.Storage.IStorageProbeGrain")]
public interface IStorageProbeGrain : IGrainWithStringKey
{
    [Alias("ReadAsync")]
    Task<StorageProbeSnapshot> ReadAsync();

    [Alias("SaveAsync")]
    Task SaveAsync(string value);

    [Alias("ClearAsync")]
    Task ClearAsync();

    [Alias("RegisterReminderAsync")]
    Task RegisterReminderAsync(string name);

    [Alias("FindReminderAsync")]
    Task<bool> FindReminderAsync(string name);

    [Alias("UnregisterReminderAsync")]
    Task UnregisterReminderAsync(string name);
}

[GenerateSerializer, Alias("ControlPlane.Grains.Tests.Storage.StorageProbeSnapshot")]
public sealed record StorageProbeSnapshot(
    [property: Id(0)] string? Value,
    [property: Id(1)] bool RecordExists,
    [property: Id(2)] string? ETag);

[GenerateSerializer, Alias("ControlPlane.Grains.Tests.Storage.StorageProbeState")]
public sealed class StorageProbeState
{
    [Id(0)]
    public string? Value { get; set; }
}

public sealed class StorageProbeGrain(
    [PersistentState(StorageProbeGrain.StateName, "store")] IPersistentState<StorageProbeState> state)
    : Grain, IStorageProbeGrain, IRemindable
{
    /// <summary>The GrainTypeString the provider stores: the state name, not the class name.</summary>
    public const string StateName = "storageProbe";

    // Reminders in these tests are registered and removed, never meant to fire.
    private static readonly TimeSpan FarAway = TimeSpan.FromHours(1);

    public Task<StorageProbeSnapshot> ReadAsync() =>
        Task.FromResult(new StorageProbeSnapshot(state.State.Value, state.RecordExists, state.Etag));

    public async Task SaveAsync(string value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
    }

    public Task ClearAsync() => state.ClearStateAsync();

    public Task RegisterReminderAsync(string name) => this.RegisterOrUpdateReminder(name, FarAway, FarAway);

    public async Task<bool> FindReminderAsync(string name) => await this.GetReminder(name) is not null;

    public async Task UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name) ?? throw new InvalidOperationException($"No reminder {name}.");
        await this.UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;
}
