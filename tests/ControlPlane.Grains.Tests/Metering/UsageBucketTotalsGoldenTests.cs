using ControlPlane.Grains.Metering;
using ControlPlane.Grains.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Xunit;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>
/// A bucket's totals are kept in its store (<see cref="IUsageBucketStore"/>), not in grain storage, in Orleans' own binary
/// format: there a stored shape is its <c>[Id]</c>s and <c>[Alias]</c>es, not its names. Golden/usage-bucket-totals.bin is
/// such a payload, written once by the product's serializer; it must read back as its values after every later change.
/// </summary>
public sealed class UsageBucketTotalsGoldenTests
{
    private const string GoldenPath = "Metering/Golden/usage-bucket-totals.bin";

    private static Serializer<UsageBucketTotals> Serializer => StoredShapes.ProductServices.GetRequiredService<Serializer<UsageBucketTotals>>();

    [Fact]
    public void GoldenTotals_ReadWithTheProductsSerializer_HoldTheirValues()
    {
        var payload = StoredShapes.ReadOrWriteOnce(GoldenPath, () => Serializer.SerializeToArray(MeteringGoldenPayloads.UsageBucketTotals()));

        StoredShapes.AssertEquivalent(MeteringGoldenPayloads.UsageBucketTotals(), Serializer.Deserialize(payload));
    }

    [Fact]
    public void TodaysTotals_SetEveryPropertyAndReadBackEqual()
    {
        var totals = MeteringGoldenPayloads.UsageBucketTotals();

        Assert.Empty(StoredShapes.UnsetProperties(totals));
        StoredShapes.AssertEquivalent(totals, Serializer.Deserialize(Serializer.SerializeToArray(totals)));
    }
}
