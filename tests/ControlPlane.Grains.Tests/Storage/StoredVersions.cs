using Npgsql;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

/// <summary>What PostgreSQL holds for a grain: how many writes its row has seen.</summary>
internal static class StoredVersions
{
    /// <summary>The version of the row of state <paramref name="stateName"/> (and grain key, if given); 0 when there is none.</summary>
    public static async Task<int> ReadAsync(string connectionString, string stateName, string? key = null)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT Version FROM OrleansGrainState WHERE GrainTypeString = @state AND (@key IS NULL OR GrainIdExtensionString = @key)", connection);
        command.Parameters.AddWithValue("state", stateName);
        command.Parameters.Add(new NpgsqlParameter("key", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)key ?? DBNull.Value });
        return Convert.ToInt32(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken) ?? 0, System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The version of a usage bucket's totals (how many commits it made); 0 when it has none.</summary>
    public static async Task<int> ReadBucketAsync(string connectionString, string key)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var command = new NpgsqlCommand("SELECT Version FROM UsageBucketTotals WHERE BucketKey = @key", connection);
        command.Parameters.AddWithValue("key", key);
        return Convert.ToInt32(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken) ?? 0, System.Globalization.CultureInfo.InvariantCulture);
    }
}
