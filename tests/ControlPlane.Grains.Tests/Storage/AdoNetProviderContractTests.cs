using ControlPlane.Server.Storage;
using ControlPlane.Testing;
using Npgsql;
using Orleans.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>
/// One silo whose grain storage ("store") and reminders are Orleans' ADO.NET providers on a database
/// migrated by <see cref="PostgresMigrator"/>: proves the project's SQL meets the providers' contract.
/// </summary>
public sealed class AdoNetClusterFixture(PostgresFixture postgres) : IAsyncLifetime
{
    private InProcessTestCluster? _cluster;

    public InProcessTestCluster Cluster => _cluster ?? throw new InvalidOperationException("Not initialised.");

    public string ConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        ConnectionString = await postgres.CreateDatabaseAsync("adonet_provider");
        await new PostgresMigrator().MigrateAsync(ConnectionString, CancellationToken.None);

        var connectionString = ConnectionString;
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAdoNetGrainStorage("store", o =>
            {
                o.Invariant = PostgresMigrator.Invariant;
                o.ConnectionString = connectionString;
            });
            silo.UseAdoNetReminderService(o =>
            {
                o.Invariant = PostgresMigrator.Invariant;
                o.ConnectionString = connectionString;
            });
            silo.Services.AddPostgresUsageBucketStore(connectionString);
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.StopAllSilosAsync();
            await _cluster.DisposeAsync();
        }
    }
}

[Collection(PostgresFixture.CollectionName)]
public sealed class AdoNetProviderContractTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private IGrainFactory Grains => fixture.Cluster.Client;

    [Fact]
    public async Task WriteState_AfterDeactivation_ReadsBackFromDatabase()
    {
        var key = NewKey();
        var grain = Grains.GetGrain<IStorageProbeGrain>(key);

        await grain.SaveAsync("first");
        await grain.SaveAsync("second");
        await fixture.Cluster.DeactivateAsync(grain);
        var snapshot = await grain.ReadAsync();

        Assert.Equal("second", snapshot.Value);
        Assert.True(snapshot.RecordExists);
        Assert.Equal("2", snapshot.ETag);
        Assert.Equal((2, false), await StoredRowAsync(key));
    }

    [Fact]
    public async Task WriteState_VersionChangedBehindGrain_ThrowsInconsistentState()
    {
        var key = NewKey();
        var grain = Grains.GetGrain<IStorageProbeGrain>(key);
        await grain.SaveAsync("mine");
        await ExecuteAsync(
            $"UPDATE OrleansGrainState SET Version = Version + 1 WHERE GrainTypeString = '{StorageProbeGrain.StateName}' AND GrainIdExtensionString = @key",
            key);

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.SaveAsync("lost"));

        Assert.Equal((2, false), await StoredRowAsync(key));
        // Orleans drops the activation on a conflict: the next one reads the current version and writes.
        Assert.Equal("2", (await grain.ReadAsync()).ETag);
        await grain.SaveAsync("after");
        Assert.Equal((3, false), await StoredRowAsync(key));
    }

    [Fact]
    public async Task ClearState_AfterWrite_LeavesEmptyRowAndDefaultState()
    {
        var key = NewKey();
        var grain = Grains.GetGrain<IStorageProbeGrain>(key);
        await grain.SaveAsync("doomed");

        await grain.ClearAsync();
        await fixture.Cluster.DeactivateAsync(grain);
        var snapshot = await grain.ReadAsync();

        Assert.Null(snapshot.Value);
        Assert.Equal((2, true), await StoredRowAsync(key));
    }

    [Fact]
    public async Task ReadState_NeverWritten_IsEmptyWithoutRow()
    {
        var key = NewKey();

        var snapshot = await Grains.GetGrain<IStorageProbeGrain>(key).ReadAsync();

        Assert.Equal(new StorageProbeSnapshot(null, false, null), snapshot);
        Assert.Null(await StoredRowAsync(key));
    }

    [Fact]
    public async Task Reminder_RegisteredThenUnregistered_IsStoredThenRemoved()
    {
        var grain = Grains.GetGrain<IStorageProbeGrain>(NewKey());
        var name = $"nightly-{Guid.NewGuid():N}";
        var before = DateTime.UtcNow;

        await grain.RegisterReminderAsync(name);

        Assert.True(await grain.FindReminderAsync(name));
        Assert.Equal(1L, await ReminderRowsAsync(name));
        // Due in an hour: a time zone slip in the StartTime round trip would move it by hours.
        var start = await ScalarAsync<DateTime>("SELECT StartTime FROM OrleansReminders WHERE ReminderName = @key", name);
        Assert.InRange(start, before.AddHours(1).AddSeconds(-1), DateTime.UtcNow.AddHours(1).AddSeconds(1));

        await grain.UnregisterReminderAsync(name);

        Assert.False(await grain.FindReminderAsync(name));
        Assert.Equal(0L, await ReminderRowsAsync(name));
    }

    [Fact]
    public async Task Reminder_RegisteredTwice_UpdatesOneRow()
    {
        var grain = Grains.GetGrain<IStorageProbeGrain>(NewKey());
        var name = $"hourly-{Guid.NewGuid():N}";

        await grain.RegisterReminderAsync(name);
        await grain.RegisterReminderAsync(name);

        Assert.Equal(1L, await ReminderRowsAsync(name));
        Assert.Equal(1, await ScalarAsync<int>("SELECT Version FROM OrleansReminders WHERE ReminderName = @key", name));
        await grain.UnregisterReminderAsync(name);
    }

    // A non-hex prefix keeps the key a string key (a hex-looking key is stored as an integer).
    private static string NewKey() => $"probe:{Guid.NewGuid():N}";

    private async Task<(int Version, bool PayloadIsNull)?> StoredRowAsync(string key)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(
            "SELECT Version, PayloadBinary IS NULL FROM OrleansGrainState WHERE GrainTypeString = @type AND GrainIdExtensionString = @key",
            connection);
        command.Parameters.AddWithValue("type", StorageProbeGrain.StateName);
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        if (!await reader.ReadAsync(Ct))
        {
            return null;
        }

        var row = (reader.GetInt32(0), reader.GetBoolean(1));
        Assert.False(await reader.ReadAsync(Ct));
        return row;
    }

    private Task<long> ReminderRowsAsync(string name) =>
        ScalarAsync<long>("SELECT count(*) FROM OrleansReminders WHERE ReminderName = @key", name);

    private async Task ExecuteAsync(string sql, string key)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("key", key);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
    }

    private async Task<T> ScalarAsync<T>(string sql, string key)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("key", key);
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }
}
