using ControlPlane.Server.Tests.Cluster;
using ControlPlane.Server.Tests.Slas;
using Xunit.Sdk;
using Xunit.v3;

[assembly: TestCollectionOrderer(typeof(ControlPlane.Server.Tests.LongTestsFirst))]

namespace ControlPlane.Server.Tests;

/// <summary>
/// Starts the test collections that spend minutes waiting on real time first: the SLA test waits for the server's clock
/// to cross a month end and for whole minutes after it (about 6 minutes), the cluster tests for failure detection (about
/// 2 minutes together). The rest of the assembly then runs beside them rather than after them. The other collections
/// keep xunit's default (random) order.
/// </summary>
public sealed class LongTestsFirst : ITestCollectionOrderer
{
    private static readonly string[] First = [SlaCreditTests.CollectionName, ClusterCollection.Name];

    /// <inheritdoc />
    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : notnull, ITestCollection =>
        [.. DefaultTestCollectionOrderer.Instance.OrderTestCollections(testCollections).OrderBy(c => Rank(c))];

    private static int Rank(ITestCollection collection)
    {
        var index = Array.IndexOf(First, collection.TestCollectionDisplayName);
        return index < 0 ? First.Length : index;
    }
}
