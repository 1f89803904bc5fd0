using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;
using CsCheck;

namespace ControlPlane.Domain.Tests.Commits;

/// <summary>Random pay-as-you-go usage, priced into lines and driven through months, closes and late usage.</summary>
public sealed class PayAsYouGoPropertyTests
{
    private static readonly Rate[] Rates = [new(1m, 2m), new(0.2m, 0.6m), new(3m, 15m), new(0.123457m, 9.876543m), new(10_000m, 0.000001m)];

    private static readonly string[] Models = ["m-a", "m-b", "m-c"];

    private static readonly Gen<UsageAggregate> Usage =
        Gen.Select(Gen.Int[0, Models.Length - 1], Gen.Int[0, Rates.Length - 1], Gen.Long[0, 100_000_000_000], Gen.Long[0, 10_000_000_000])
            .Select((m, r, i, o) => new UsageAggregate(Models[m], Rates[r], i, o));

    [Fact]
    public void Lines_AnyUsage_EveryTokenOnceAndTheLinesExactlyTheUsageAtListPrice()
    {
        Usage.Array[0, 40].Sample(usage =>
        {
            var lines = PayAsYouGoInvoicing.Lines(PayAsYouGoLineKind.Usage, new DateOnly(2026, 10, 1), usage);
            var asUsage = lines.Select(l => new UsageAggregate(l.Model, l.ListRate, l.InputTokens, l.OutputTokens)).ToList();

            // The same tokens per model and rate: nothing lost, nothing counted twice.
            Assert.Equal(Totals(usage), Totals(asUsage));
            // Exact before rounding: the lines' exact prices add up to the usage's, to the last decimal.
            Assert.Equal(Pricing.PriceUsd(usage, 0m), asUsage.Sum(u => Pricing.PriceUsd([u], 0m)));
            // Each line is rounded once, half away from zero; the total is the sum of the lines.
            foreach (var line in lines)
            {
                Assert.Equal(decimal.Round(Pricing.PriceUsd([new(line.Model, line.ListRate, line.InputTokens, line.OutputTokens)], 0m) * 100m, 0, MidpointRounding.AwayFromZero), line.AmountCents);
            }

            Assert.True(Math.Abs(lines.Sum(l => l.AmountCents) - Pricing.PriceUsd(usage, 0m) * 100m) <= 0.5m * lines.Count);
        });
    }

    private abstract record Step;

    private sealed record UseStep(int Month, UsageAggregate Usage) : Step;

    private sealed record WaitStep(int Days) : Step;

    private sealed record CloseStep(int Month) : Step;

    private static readonly Gen<Step> Steps = Gen.Frequency<Step>(
        (6, Gen.Select(Gen.Int[0, 5], Usage).Select(Step (m, u) => new UseStep(m, u))),
        (3, Gen.Int[1, 40].Select(Step (d) => new WaitStep(d))),
        (2, Gen.Int[0, 6].Select(Step (m) => new CloseStep(m))));

    /// <summary>
    /// Days' buckets modelled as the grains keep them (counted, sealed, late, late taken per invoice id), and the book
    /// driven as the grain drives it: whatever the order of usage, closes and waits, every token is billed exactly once,
    /// an issued invoice never changes, and a late line is always usage of a month closed before it arrived.
    /// </summary>
    [Fact]
    public void AnyLife_EveryTokenBilledOnceAndNoIssuedInvoiceChanges()
    {
        var first = new DateOnly(2026, 1, 1);
        Steps.Array[0, 60].Sample(steps =>
        {
            var account = new PayAsYouGoAccount();
            var buckets = new Dictionary<DateOnly, Bucket>();
            var clock = BillingMonths.Start(first);
            var sent = new List<UsageAggregate>();
            var issued = new List<PayAsYouGoInvoice>();

            void Close(DateOnly month)
            {
                var check = account.CheckClose(month, clock);
                if (!check.IsSuccess || check.Value is not null)
                {
                    return;
                }

                var id = PayAsYouGoInvoicing.InvoiceId("acme", month);
                var own = Of(month).Seal().Concat(Of(month).Take(id)).ToList();
                var lateMonths = account.LateMonths.ToList();
                var late = lateMonths.SelectMany(m => Of(m).Take(id).Select(u => (m, u))).ToList();
                if (account.Close("acme", month, own, lateMonths, late, clock) is { } invoice)
                {
                    Assert.All(invoice.Lines.Where(l => l.Kind == PayAsYouGoLineKind.LateUsage), l => Assert.True(l.Month != month && account.IsClosed(l.Month)));
                    issued.Add(invoice);
                }
            }

            Bucket Of(DateOnly month) => buckets.TryGetValue(month, out var b) ? b : buckets[month] = new Bucket();

            foreach (var step in steps)
            {
                switch (step)
                {
                    case UseStep use:
                        // Usage happens in the past or now (never ahead of the clock), in one of the last months.
                        var month = BillingMonths.Of(clock).AddMonths(-use.Month);
                        if (month < first)
                        {
                            break;
                        }

                        Of(month).Record(use.Usage);
                        sent.Add(use.Usage);
                        account.NoteUsage([month], clock);
                        break;
                    case WaitStep wait:
                        clock = clock.AddDays(wait.Days);
                        foreach (var due in account.DueMonths(clock, TimeSpan.FromDays(3)))
                        {
                            Close(due);
                        }

                        break;
                    case CloseStep close:
                        Close(BillingMonths.Of(clock).AddMonths(-close.Month));
                        break;
                }

                Assert.Equal(issued, account.Invoices);
            }

            // Time passes: every open month closes, and what was late is carried.
            for (var i = 0; i < 4; i++)
            {
                clock = clock.AddMonths(1);
                foreach (var due in account.DueMonths(clock, TimeSpan.FromDays(3)))
                {
                    Close(due);
                }
            }

            Assert.Empty(account.OpenMonths);
            Assert.Empty(account.LateMonths);
            var billed = account.Invoices.SelectMany(i => i.Lines).Select(l => new UsageAggregate(l.Model, l.ListRate, l.InputTokens, l.OutputTokens)).ToList();
            Assert.Equal(Totals(sent), Totals(billed));
            Assert.Equal(account.Invoices.Count, account.Invoices.Select(i => i.InvoiceId).Distinct().Count());
        });
    }

    private static List<string> Totals(IEnumerable<UsageAggregate> usage) =>
        UsageAggregate.Merge(usage)
            .Where(u => u.InputTokens != 0 || u.OutputTokens != 0)
            .Select(u => $"{u.Model} {u.ListRate} {u.InputTokens} {u.OutputTokens}")
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>A month's buckets under one ledger, as <c>UsageBucketGrain</c> keeps them.</summary>
    private sealed class Bucket
    {
        private readonly List<UsageAggregate> _counted = [];
        private List<UsageAggregate> _late = [];
        private readonly Dictionary<string, List<UsageAggregate>> _billedLate = new(StringComparer.Ordinal);
        private bool _sealed;

        public void Record(UsageAggregate usage) => (_sealed ? _late : _counted).Add(usage);

        public List<UsageAggregate> Seal()
        {
            _sealed = true;
            return _counted.ToList();
        }

        public List<UsageAggregate> Take(string invoiceId)
        {
            if (!_billedLate.TryGetValue(invoiceId, out var billed))
            {
                billed = _late;
                _late = [];
                _billedLate[invoiceId] = billed;
            }

            return billed;
        }
    }
}
