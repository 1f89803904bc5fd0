using System.Text.RegularExpressions;
using Xunit;

namespace ControlPlane.Testing;

/// <summary>
/// One throw-away PostgreSQL server shared by the tests of a collection (or class, or assembly),
/// handing each test class or test its own fresh database.
/// </summary>
/// <example>
/// In the test project, once:
/// <code>
/// [CollectionDefinition(PostgresFixture.CollectionName)]
/// public sealed class PostgresCollection : ICollectionFixture&lt;PostgresFixture&gt;;
/// </code>
/// then <c>[Collection(PostgresFixture.CollectionName)]</c> on a test class that takes a <see cref="PostgresFixture"/>
/// and calls <see cref="CreateDatabaseAsync"/>. Those classes run one after another. To let them run in parallel on
/// one server, declare it an assembly fixture instead (<c>[assembly: AssemblyFixture(typeof(PostgresFixture))]</c>, as
/// ControlPlane.Server.Tests does) and leave the classes in collections of their own.
/// </example>
public sealed partial class PostgresFixture : IAsyncLifetime
{
    /// <summary>The collection name test projects define with <c>ICollectionFixture&lt;PostgresFixture&gt;</c>.</summary>
    public const string CollectionName = "PostgreSQL";

    private PostgresServer? _server;
    private int _databases;

    /// <summary>The running server.</summary>
    public PostgresServer Server => _server ?? throw new InvalidOperationException("The PostgreSQL fixture has not been initialised.");

    /// <summary>Creates a database no other test uses and returns its connection string.</summary>
    /// <param name="prefix">Readable part of the name, e.g. the test class; other characters become '_'.</param>
    public Task<string> CreateDatabaseAsync(string prefix = "test", CancellationToken ct = default)
    {
        var n = Interlocked.Increment(ref _databases);
        var readable = NotIdentifier().Replace(prefix.ToLowerInvariant(), "_");
        var name = $"{readable[..Math.Min(readable.Length, 50)]}_{n}";
        return Server.CreateDatabaseAsync(char.IsDigit(name[0]) ? "db_" + name : name, ct);
    }

    /// <inheritdoc />
    public async ValueTask InitializeAsync() => _server = await PostgresServer.StartAsync();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [GeneratedRegex("[^a-z0-9_]")]
    private static partial Regex NotIdentifier();
}
