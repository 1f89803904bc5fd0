using System.Data;
using ControlPlane.Server.Storage;
using ControlPlane.Testing;
using Npgsql;
using Xunit;

namespace ControlPlane.Server.Tests.Storage;

/// <summary>
/// The migrated query texts, run the way the Orleans ADO.NET providers run them (by key from
/// OrleansQuery, named parameters), for the cases a cluster test cannot force: races and edge rows.
/// </summary>
public sealed class OrleansQueryContractTests(PostgresFixture postgres) : IAsyncLifetime
{
    private string _db = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _db = await postgres.CreateDatabaseAsync(nameof(OrleansQueryContractTests), Ct);
        await new PostgresMigrator().MigrateAsync(_db, Ct);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task WriteToStorage_TwoConcurrentFirstWrites_ExactlyOneInserts()
    {
        var grain = StringKeyGrain("node:race");

        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => Task.Run(
            () => WriteAsync(grain, version: null, payload: [(byte)i]), Ct)));

        Assert.Equal([1], results.Where(v => v is not null).Select(v => v!.Value));
        Assert.Single(results, v => v is null);
        Assert.Equal(1, await CountRowsAsync());
    }

    [Fact]
    public async Task WriteToStorage_VersionMatches_IncrementsVersion()
    {
        var grain = StringKeyGrain("node:write");
        Assert.Equal(1, await WriteAsync(grain, null, [1]));

        Assert.Equal(2, await WriteAsync(grain, 1, [2]));

        var (payload, version) = Assert.Single(await ReadAsync(grain));
        Assert.Equal([2], payload);
        Assert.Equal(2, version);
    }

    [Fact]
    public async Task WriteToStorage_StaleVersion_ReturnsPassedVersionAndKeepsRow()
    {
        var grain = StringKeyGrain("node:stale");
        await WriteAsync(grain, null, [1]);
        await WriteAsync(grain, 1, [2]);

        Assert.Equal(1, await WriteAsync(grain, 1, [3]));
        Assert.Null(await WriteAsync(grain, null, [4]));

        var (payload, version) = Assert.Single(await ReadAsync(grain));
        Assert.Equal([2], payload);
        Assert.Equal(2, version);
    }

    [Fact]
    public async Task ReadFromStorage_IntegerKeyWithNullExtension_FindsOnlyItsRow()
    {
        var integerKey = new Grain(Hash: 11, N0: 0, N1: 42, TypeHash: 5, Type: "probe", Extension: null);
        var stringKey = integerKey with { N1 = 0, Extension = "node:42" };
        await WriteAsync(integerKey, null, [1]);
        await WriteAsync(stringKey, null, [2]);

        Assert.Equal([1], Assert.Single(await ReadAsync(integerKey)).Payload);
        Assert.Equal([2], Assert.Single(await ReadAsync(stringKey)).Payload);
        Assert.Empty(await ReadAsync(integerKey with { Type = "other" }));
    }

    [Fact]
    public async Task ClearStorage_VersionMatches_NullsPayloadAndIncrementsVersion()
    {
        var grain = StringKeyGrain("node:clear");
        await WriteAsync(grain, null, [1]);

        Assert.Empty(await RunAsync("ClearStorageKey", GrainParameters(grain, ("GrainStateVersion", 7, DbType.Int32))));
        var cleared = Assert.Single(await RunAsync("ClearStorageKey", GrainParameters(grain, ("GrainStateVersion", 1, DbType.Int32))));

        Assert.Equal(2, Convert.ToInt32(cleared[0]));
        var (payload, version) = Assert.Single(await ReadAsync(grain));
        Assert.Null(payload);
        Assert.Equal(2, version);
    }

    [Fact]
    public async Task DeleteStorage_VersionMatches_DeletesRowAndReturnsNextVersion()
    {
        var grain = StringKeyGrain("node:delete");
        await WriteAsync(grain, null, [1]);

        Assert.Empty(await RunAsync("DeleteStorageKey", GrainParameters(grain, ("GrainStateVersion", 3, DbType.Int32))));
        var deleted = Assert.Single(await RunAsync("DeleteStorageKey", GrainParameters(grain, ("GrainStateVersion", 1, DbType.Int32))));

        Assert.Equal(2, Convert.ToInt32(deleted[0]));
        Assert.Empty(await ReadAsync(grain));
    }

    [Fact]
    public async Task UpsertReminderRow_Twice_VersionsZeroThenOneAndStartTimeIsUtc()
    {
        var start = new DateTime(2030, 1, 2, 3, 4, 5, DateTimeKind.Utc);

        var first = await UpsertReminderAsync("svc", "g1", "r", start, 10);
        var second = await UpsertReminderAsync("svc", "g1", "r", start.AddHours(1), 10);

        Assert.Equal(0, first);
        Assert.Equal(1, second);
        var row = Assert.Single(await RunAsync("ReadReminderRowKey",
            ("ServiceId", "svc", DbType.String), ("GrainId", "g1", DbType.String), ("ReminderName", "r", DbType.String)));
        Assert.Equal(start.AddHours(1), Assert.IsType<DateTime>(row[2]));
        Assert.Equal(60_000L, Convert.ToInt64(row[3]));
        Assert.Equal(1, Convert.ToInt32(row[4]));
    }

    [Fact]
    public async Task ReadRangeRows_PlainAndWrappedRanges_SelectByGrainHash()
    {
        var start = DateTime.UtcNow;
        foreach (var (grain, hash) in new[] { ("a", -100), ("b", 0), ("c", 50), ("d", 100) })
        {
            await UpsertReminderAsync("range", grain, "r", start, hash);
        }

        await UpsertReminderAsync("other-service", "e", "r", start, 50);

        Assert.Equal(["c", "d"], await RangeAsync("ReadRangeRows1Key", 0, 100));
        Assert.Equal(["a", "d"], await RangeAsync("ReadRangeRows2Key", 50, -100));
    }

    [Fact]
    public async Task DeleteReminderRow_StaleThenCurrentVersion_DeletesOnlyOnCurrent()
    {
        await UpsertReminderAsync("svc-del", "g", "r", DateTime.UtcNow, 1);
        await UpsertReminderAsync("svc-del", "g", "r", DateTime.UtcNow, 1);

        var stale = Assert.Single(await DeleteReminderAsync(version: 0));
        var current = Assert.Single(await DeleteReminderAsync(version: 1));

        Assert.Equal(0L, Convert.ToInt64(stale[0]));
        Assert.True(Convert.ToInt64(current[0]) > 0);
        Assert.Empty(await RunAsync("ReadReminderRowsKey", ("ServiceId", "svc-del", DbType.String), ("GrainId", "g", DbType.String)));

        Task<List<object?[]>> DeleteReminderAsync(int version) => RunAsync("DeleteReminderRowKey",
            ("ServiceId", "svc-del", DbType.String), ("GrainId", "g", DbType.String),
            ("ReminderName", "r", DbType.String), ("Version", version, DbType.Int32));
    }

    [Fact]
    public async Task DeleteReminderRows_Service_DeletesOnlyThatService()
    {
        await UpsertReminderAsync("svc-all", "g1", "r", DateTime.UtcNow, 1);
        await UpsertReminderAsync("svc-all", "g2", "r", DateTime.UtcNow, 2);
        await UpsertReminderAsync("svc-keep", "g1", "r", DateTime.UtcNow, 1);

        await RunAsync("DeleteReminderRowsKey", ("ServiceId", "svc-all", DbType.String));

        Assert.Empty(await RunAsync("ReadReminderRowsKey", ("ServiceId", "svc-all", DbType.String), ("GrainId", "g1", DbType.String)));
        Assert.Single(await RunAsync("ReadReminderRowsKey", ("ServiceId", "svc-keep", DbType.String), ("GrainId", "g1", DbType.String)));
    }

    private sealed record Grain(int Hash, long N0, long N1, int TypeHash, string Type, string? Extension);

    private static Grain StringKeyGrain(string key) =>
        new(Hash: key.GetHashCode(StringComparison.Ordinal), N0: 0, N1: 0, TypeHash: 5, Type: "probe", Extension: key);

    private static (string, object?, DbType)[] GrainParameters(Grain grain, params (string, object?, DbType)[] extra) =>
    [
        ("GrainIdHash", grain.Hash, DbType.Int32),
        ("GrainIdN0", grain.N0, DbType.Int64),
        ("GrainIdN1", grain.N1, DbType.Int64),
        ("GrainTypeHash", grain.TypeHash, DbType.Int32),
        ("GrainTypeString", grain.Type, DbType.String),
        ("GrainIdExtensionString", grain.Extension, DbType.String),
        ("ServiceId", "contract-tests", DbType.String),
        .. extra,
    ];

    private async Task<int?> WriteAsync(Grain grain, int? version, byte[] payload)
    {
        var row = Assert.Single(await RunAsync("WriteToStorageKey", GrainParameters(grain,
            ("GrainStateVersion", version, DbType.Int32), ("PayloadBinary", payload, DbType.Binary))));
        return row[0] is null ? null : Convert.ToInt32(row[0]);
    }

    private async Task<List<(byte[]? Payload, int? Version)>> ReadAsync(Grain grain) =>
        [.. (await RunAsync("ReadFromStorageKey", GrainParameters(grain)))
            .Select(r => ((byte[]?)r[0], r[1] is null ? (int?)null : Convert.ToInt32(r[1])))];

    private async Task<int> UpsertReminderAsync(string service, string grainId, string name, DateTime start, int hash)
    {
        var row = Assert.Single(await RunAsync("UpsertReminderRowKey",
            ("ServiceId", service, DbType.String), ("GrainId", grainId, DbType.String), ("ReminderName", name, DbType.String),
            ("StartTime", start, DbType.DateTime), ("Period", 60_000L, DbType.Int64), ("GrainHash", hash, DbType.Int32)));
        return Convert.ToInt32(row[0]);
    }

    private async Task<string[]> RangeAsync(string key, int begin, int end) =>
        [.. (await RunAsync(key, ("ServiceId", "range", DbType.String), ("BeginHash", begin, DbType.Int32), ("EndHash", end, DbType.Int32)))
            .Select(r => (string)r[0]!).Order(StringComparer.Ordinal)];

    private async Task<int> CountRowsAsync()
    {
        await using var connection = new NpgsqlConnection(_db);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT count(*) FROM OrleansGrainState", connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(Ct));
    }

    private async Task<List<object?[]>> RunAsync(string queryKey, params (string Name, object? Value, DbType Type)[] parameters)
    {
        await using var connection = new NpgsqlConnection(_db);
        await connection.OpenAsync(Ct);

        string text;
        await using (var lookup = new NpgsqlCommand("SELECT QueryText FROM OrleansQuery WHERE QueryKey = @key", connection))
        {
            lookup.Parameters.AddWithValue("key", queryKey);
            text = (string)(await lookup.ExecuteScalarAsync(Ct) ?? throw new InvalidOperationException($"No query {queryKey}."));
        }

        // Like the providers: a generic DbCommand whose parameters carry a DbType and DBNull for null.
        await using var command = connection.CreateCommand();
        command.CommandText = text;
        foreach (var (name, value, type) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.DbType = type;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        var rows = new List<object?[]>();
        await using var reader = await command.ExecuteReaderAsync(Ct);
        do
        {
            while (await reader.ReadAsync(Ct))
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                }

                rows.Add(row);
            }
        }
        while (await reader.NextResultAsync(Ct));

        return rows;
    }
}
