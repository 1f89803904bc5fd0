using ControlPlane.Testing;
using Xunit;

namespace ControlPlane.Grains.Tests.Storage;

[CollectionDefinition(PostgresFixture.CollectionName)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>;
