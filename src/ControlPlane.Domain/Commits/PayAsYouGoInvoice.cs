using ControlPlane.Domain.Metering;

namespace ControlPlane.Domain.Commits;

/// <summary>What a pay-as-you-go invoice line charges for.</summary>
[GenerateSerializer, Alias("payg-line-kind")]
public enum PayAsYouGoLineKind
{
    /// <summary>The invoice's own month's usage of one model at one list rate.</summary>
    Usage = 0,
    /// <summary>Usage of an earlier, closed month that arrived after its invoice: billed on the next one, never on its own.</summary>
    LateUsage = 1,
}

/// <summary>
/// One line of a pay-as-you-go invoice: a model's tokens of one month at one list rate (the price in force when the
/// usage happened; a price change within the month makes two lines), priced at list and rounded to cents once.
/// </summary>
/// <param name="Month">The month the usage happened in (for a late line, an earlier month than the invoice's).</param>
[GenerateSerializer, Alias("payg-invoice-line")]
public sealed record PayAsYouGoLine(
    [property: Id(0)] PayAsYouGoLineKind Kind,
    [property: Id(1)] DateOnly Month,
    [property: Id(2)] string Model,
    [property: Id(3)] Rate ListRate,
    [property: Id(4)] long InputTokens,
    [property: Id(5)] long OutputTokens,
    [property: Id(6)] long AmountCents);

/// <summary>
/// A customer's pay-as-you-go invoice for one calendar month; never changed once issued. Equal when ids, dates and lines
/// (in order) are, so a preview can be compared with the invoice finally issued.
/// </summary>
/// <param name="InvoiceId"><see cref="PayAsYouGoInvoicing.InvoiceId"/>: the same for every attempt to close the month.</param>
/// <param name="Month">The month it closes.</param>
[GenerateSerializer, Alias("payg-invoice")]
public sealed record PayAsYouGoInvoice(
    [property: Id(0)] string InvoiceId,
    [property: Id(1)] string CustomerId,
    [property: Id(2)] DateOnly Month,
    [property: Id(3)] DateTimeOffset IssuedAt,
    [property: Id(4)] List<PayAsYouGoLine> Lines)
{
    public long TotalCents => Lines.Sum(l => l.AmountCents);

    public bool Equals(PayAsYouGoInvoice? other) =>
        other is not null
        && string.Equals(InvoiceId, other.InvoiceId, StringComparison.Ordinal)
        && string.Equals(CustomerId, other.CustomerId, StringComparison.Ordinal)
        && Month == other.Month
        && IssuedAt.Equals(other.IssuedAt)
        && Lines.SequenceEqual(other.Lines);

    public override int GetHashCode() => HashCode.Combine(InvoiceId, Month, IssuedAt, Lines.Count);
}

/// <summary>
/// What a pay-as-you-go invoice says: a line per model and list rate of the month's usage, then a line per earlier month,
/// model and rate of late usage, each priced at list (no discount) exactly and rounded to cents once, half away from
/// zero (DESIGN.md, "Money"). The total is the sum of the lines, so it is exact in cents and what the lines show.
/// </summary>
public static class PayAsYouGoInvoicing
{
    /// <summary>
    /// <c>payg-{customerId}-{yyyy-MM}</c>. It cannot equal a contract's invoice id (those end in <c>-open</c>,
    /// <c>-close-Q{n}</c>, <c>-trueup-{n}</c> or <c>-late-{n}</c>).
    /// </summary>
    public static string InvoiceId(string customerId, DateOnly month) => $"payg-{customerId}-{BillingMonths.Format(month)}";

    /// <summary>
    /// One line per model and rate of <paramref name="usage"/> (merged first), in model order, then by rate; usage of
    /// no tokens at all makes no line.
    /// </summary>
    public static List<PayAsYouGoLine> Lines(PayAsYouGoLineKind kind, DateOnly month, IEnumerable<UsageAggregate> usage) =>
        UsageAggregate.Merge(usage)
            .Where(u => u.InputTokens != 0 || u.OutputTokens != 0)
            .OrderBy(u => u.Model, StringComparer.Ordinal)
            .ThenBy(u => u.ListRate.InputUsdPer1M)
            .ThenBy(u => u.ListRate.OutputUsdPer1M)
            .Select(u => new PayAsYouGoLine(kind, BillingMonths.Of(month), u.Model, u.ListRate, u.InputTokens, u.OutputTokens, Pricing.PriceCents([u], 0m)))
            .ToList();

    /// <summary>
    /// The invoice closing <paramref name="month"/>: its usage, then late usage of earlier months (oldest month first);
    /// null when there is nothing to bill.
    /// </summary>
    public static PayAsYouGoInvoice? Close(
        string customerId,
        DateOnly month,
        IEnumerable<UsageAggregate> usage,
        IEnumerable<(DateOnly Month, UsageAggregate Usage)> late,
        DateTimeOffset issuedAt)
    {
        var lines = Lines(PayAsYouGoLineKind.Usage, month, usage);
        foreach (var group in late.GroupBy(l => BillingMonths.Of(l.Month)).OrderBy(g => g.Key))
        {
            lines.AddRange(Lines(PayAsYouGoLineKind.LateUsage, group.Key, group.Select(l => l.Usage)));
        }

        return lines.Count == 0 ? null : new PayAsYouGoInvoice(InvoiceId(customerId, month), customerId, BillingMonths.Of(month), issuedAt, lines);
    }
}
