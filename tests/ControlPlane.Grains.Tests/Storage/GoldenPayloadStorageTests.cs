using ControlPlane.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Storage;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>
/// Golden payloads are grain-state rows: what Orleans' ADO.NET grain storage writes to <c>PayloadBinary</c> is the
/// serializer's payload, byte for byte, and a golden payload put in a row is read back by the storage as its values.
/// </summary>
[Collection(PostgresFixture.CollectionName)]
public sealed class GoldenPayloadStorageTests(AdoNetClusterFixture fixture) : IClassFixture<AdoNetClusterFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Payloads => GoldenPayloadTests.Payloads;

    [Theory]
    [MemberData(nameof(Payloads))]
    public async Task GoldenPayload_InAGrainStateRow_IsWhatTheStorageWritesAndReads(string path)
    {
        var golden = GoldenPayloads.All.Single(p => p.Path == path);
        var method = typeof(GoldenPayloadStorageTests).GetMethod(nameof(WriteThenReadGoldenAsync), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;

        await (Task)method.MakeGenericMethod(golden.StateType).Invoke(this, [golden])!;
    }

    private async Task WriteThenReadGoldenAsync<T>(GoldenPayload golden)
    {
        var storage = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>("store");
        var stateName = $"golden-{Guid.NewGuid():N}";
        var grainId = GrainId.Create("golden", "golden-" + Guid.NewGuid().ToString("N")[..8]);
        var expected = golden.Holds();

        await storage.WriteStateAsync(stateName, grainId, new GrainState<T>((T)expected));
        Assert.Equal(StoredShapes.Serialize(expected), await StoredPayloadAsync(stateName));

        await StorePayloadAsync(stateName, await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, golden.Path), Ct));
        var read = new GrainState<T>();
        await storage.ReadStateAsync(stateName, grainId, read);
        Assert.True(read.RecordExists);
        StoredShapes.AssertEquivalent(expected, read.State!);
    }

    private async Task<byte[]> StoredPayloadAsync(string stateName)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("SELECT PayloadBinary FROM OrleansGrainState WHERE GrainTypeString = @state", connection);
        command.Parameters.AddWithValue("state", stateName);
        return (byte[])(await command.ExecuteScalarAsync(Ct))!;
    }

    private async Task StorePayloadAsync(string stateName, byte[] payload)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand("UPDATE OrleansGrainState SET PayloadBinary = @payload WHERE GrainTypeString = @state", connection);
        command.Parameters.AddWithValue("payload", payload);
        command.Parameters.AddWithValue("state", stateName);
        Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
    }
}
