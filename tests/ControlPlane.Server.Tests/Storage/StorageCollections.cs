using ControlPlane.Testing;
using Xunit;

// One PostgreSQL server for the whole assembly, injected into any test class that takes a PostgresFixture. Each of
// those classes stays its own test collection, so they run in parallel with each other (every test creates its own
// database); the cluster tests keep servers of their own (ClusterCollection), since one of them stops its server.
[assembly: AssemblyFixture(typeof(PostgresFixture))]

namespace ControlPlane.Server.Tests.Storage;

[CollectionDefinition(AzuriteFixture.CollectionName)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>;
