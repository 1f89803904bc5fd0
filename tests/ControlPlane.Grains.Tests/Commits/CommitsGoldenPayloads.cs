using ControlPlane.Contracts.Commits;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using ControlPlane.Domain.Slas;
using ControlPlane.Grains.Commits;
using static ControlPlane.Grains.Tests.Storage.StoredShapes;

namespace ControlPlane.Grains.Tests.Commits;

/// <summary>What the golden payloads of Commits/Golden/ hold (see <see cref="Storage.GoldenPayloads"/>).</summary>
public static class CommitsGoldenPayloads
{
    private static readonly Rate Llama = new(0.123456m, 2.654321m);

    public static ContractLedger Contract() => new()
    {
        Terms = new ContractTerms("c-golden", "cust-golden", new DateOnly(2026, 1, 1), 4, 123_456_789_01, 17.123456789012345678901234m, 62.5m),
        TrueUps = [new TrueUp(5_000_00, 3, "req-trueup-golden")],
        ClosedQuarters =
        [
            new ClosedQuarter(1, 987_654_32, At("2026-04-02T00:15:00.123+00:00"), "c-golden-q1"),
            new ClosedQuarter(2, 1, At("2026-07-02T00:15:00+00:00"), "c-golden-q2"),
        ],
        Invoices =
        [
            new Invoice("c-golden-q2", At("2026-07-02T00:15:00+00:00"),
            [
                new InvoiceLine(InvoiceLineKind.Commit, 3, 123_456_789_01),
                new InvoiceLine(InvoiceLineKind.Overage, 2, 33_33),
                new InvoiceLine(InvoiceLineKind.TrueUp, 3, 5_000_00),
                new InvoiceLine(InvoiceLineKind.LateUsage, 1, 7),
                new InvoiceLine(InvoiceLineKind.SlaCredit, 2, -12_34, new SlaCreditDetail(
                    "d-golden", new DateOnly(2026, 4, 1), new DateOnly(2026, 7, 1), 131_040, 130_000, 1_040,
                    99.206349206349206349206349206m, 99.9m, 99.5m, 10m, 123_40)),
            ]),
        ],
        QuarterUsage = new()
        {
            [1] = [new UsageAggregate("llama-70b", Llama, 9_876_543_210, 123_456_789)],
            [3] = [new UsageAggregate("llama-70b", Llama, 5, 6), new UsageAggregate("mistral-7b", new Rate(0.2m, 0.4m), 7, 8)],
        },
        PendingLateUsage = new() { [2] = [new UsageAggregate("llama-70b", Llama, 11, 12)] },
        BilledLateUsage = [new LateUsageCharge("c-golden-q2", 1, [new UsageAggregate("llama-70b", Llama, 13, 14)], 7)],
        Slos =
        [
            new SloTerms("d-golden", SloPeriod.Quarterly, 99.9m, [new SloCreditTier(99.5m, 10m), new SloCreditTier(99.05m, 25.5m)],
                At("2026-03-15T14:00:00.5+00:00")),
        ],
    };

    public static ContractAlertState ContractAlerts() => new()
    {
        Thresholds = new() { [1] = [50, 80, 100], [3] = [50] },
        Invoices = ["c-golden-opening", "c-golden-q1"],
    };

    public static CustomerState Customer() => new()
    {
        Contracts =
        [
            new ContractTerm("c-golden", At("2026-01-01T00:00:00+00:00"), At("2027-01-01T00:00:00+00:00")),
            new ContractTerm("c-golden-2", At("2027-01-01T00:00:00+00:00"), At("2027-07-01T00:00:00+00:00")),
        ],
    };

    public static PayAsYouGoAccount PayAsYouGo() => new()
    {
        OpenMonths = [new DateOnly(2026, 11, 1), new DateOnly(2026, 12, 1)],
        ClosedMonths = [new ClosedMonth(new DateOnly(2026, 10, 1), At("2026-11-02T00:05:00.25+00:00"), "payg-cust-golden-202610")],
        LateMonths = [new DateOnly(2026, 10, 1)],
        Invoices =
        [
            new PayAsYouGoInvoice("payg-cust-golden-202610", "cust-golden", new DateOnly(2026, 10, 1), At("2026-11-02T00:05:00.25+00:00"),
            [
                new PayAsYouGoLine(PayAsYouGoLineKind.LateUsage, new DateOnly(2026, 9, 1), "llama-70b", Llama, 1_234_567, 89_012, 39),
            ]),
        ],
        Announced = ["payg-cust-golden-202610"],
    };
}
