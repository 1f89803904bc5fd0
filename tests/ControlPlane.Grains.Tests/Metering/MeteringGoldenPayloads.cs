using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Metering;
using ControlPlane.Grains.Metering;
using static ControlPlane.Grains.Tests.Storage.StoredShapes;

namespace ControlPlane.Grains.Tests.Metering;

/// <summary>What the golden payloads of Metering/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class MeteringGoldenPayloads
{
    public static PriceListState PriceList() => new()
    {
        Version = 9,
        Models = new(StringComparer.Ordinal)
        {
            ["llama-70b"] =
            [
                new ModelPrice("llama-70b", new Rate(0.123456m, 2.654321m), At("2026-01-01T00:00:00+00:00")),
                new ModelPrice("llama-70b", new Rate(0.1m, 2.000001m), At("2026-07-01T12:30:00.5+00:00")),
            ],
            ["mistral-7b"] = [new ModelPrice("mistral-7b", new Rate(0.2m, 0.4m), At("2026-02-01T00:00:00+00:00"))],
        },
    };

    /// <summary>Golden/usage-bucket-totals.bin: a bucket's totals as its store keeps them (see <see cref="UsageBucketTotalsGoldenTests"/>).</summary>
    public static UsageBucketTotals UsageBucketTotals()
    {
        var llama = new Rate(0.123456m, 2.654321m);
        var mistral = new Rate(0.2m, 0.4m);
        return new()
        {
            Ledgers = new(StringComparer.Ordinal)
            {
                ["c-golden"] = new LedgerDay
                {
                    Counted = new(StringComparer.Ordinal) { ["llama-70b|0.123456|2.654321"] = new UsageAggregate("llama-70b", llama, 9_876_543_210, 123_456_789) },
                    Sealed = true,
                    Late = new(StringComparer.Ordinal) { ["llama-70b|0.123456|2.654321"] = new UsageAggregate("llama-70b", llama, 11, 5) },
                    BilledLate = new(StringComparer.Ordinal) { ["c-golden-q2"] = [new UsageAggregate("llama-70b", llama, 16, 7)] },
                    ByDeployment = new(StringComparer.Ordinal)
                    {
                        ["d-golden"] = new(StringComparer.Ordinal) { ["llama-70b|0.123456|2.654321"] = new UsageAggregate("llama-70b", llama, 9_876_543_221, 123_456_794) },
                    },
                },
                ["p-golden-customer"] = new LedgerDay
                {
                    Counted = new(StringComparer.Ordinal) { ["mistral-7b|0.2|0.4"] = new UsageAggregate("mistral-7b", mistral, 1_000, 100) },
                },
            },
        };
    }

    /// <summary>
    /// Golden/usage-bucket-state.json, taken from the database before buckets moved to their own store (read only since;
    /// <see cref="LedgerDay.ByDeployment"/> came after, so such a record never holds it): see <see cref="LegacyUsageBucketTests"/>.
    /// </summary>
    public static UsageBucketState LegacyUsageBucket()
    {
        var llama = new Rate(1.25m, 2.5m);
        return new()
        {
            SeenIds = Convert.FromBase64String(
                "d6vIbVw3/iYc6Elmsp3cySRC/+7earB4H0f7FIRfJoN/w8LB65OUr4m+5FwV+Fl4M25L5vMM+kb2HvWzMjmR4YmUlburHGX3FFs82WABDbLXg3pzXmPUUGylSLw3MI83m1MUQ9nWRs5LMiY6dOo4TNHnO7TNZESwHSgnWHv2QO3ZPWmhv51XfSuZU6mfq0k2ueKr255lwjO9TNZ/P34tFj0Zk5ayjrTJpBexhJqju2Y="),
            Ledgers = new(StringComparer.Ordinal)
            {
                ["c-golden"] = new LedgerDay
                {
                    Counted = new(StringComparer.Ordinal) { ["llama-70b|1.25|2.5"] = new UsageAggregate("llama-70b", llama, 6_015, 75) },
                    Sealed = true,
                    Late = new(StringComparer.Ordinal) { ["llama-70b|1.25|2.5"] = new UsageAggregate("llama-70b", llama, 11, 5) },
                    BilledLate = new(StringComparer.Ordinal) { ["inv-golden-1"] = [new UsageAggregate("llama-70b", llama, 16, 7)] },
                },
                ["p-golden-customer"] = new LedgerDay
                {
                    Counted = new(StringComparer.Ordinal) { ["mistral-7b|0.2|0.4"] = new UsageAggregate("mistral-7b", new Rate(0.2m, 0.4m), 1_000, 100) },
                },
            },
        };
    }
}
