namespace ControlPlane.Domain.Commits;

/// <summary>What an invoice line charges for.</summary>
[GenerateSerializer, Alias("invoice-line-kind")]
public enum InvoiceLineKind
{
    /// <summary>A quarter's commit (true-ups in force included), billed before the quarter is served.</summary>
    Commit = 0,
    /// <summary>A closed quarter's usage beyond its available balance, at the contract's rate.</summary>
    Overage = 1,
    /// <summary>The raise of a quarter whose commit was already invoiced.</summary>
    TrueUp = 2,
    /// <summary>Usage of a closed quarter that arrived after it closed, at the contract's rate.</summary>
    LateUsage = 3,
    /// <summary>A credit (a negative amount) for an SLO period of the quarter that missed its target.</summary>
    SlaCredit = 4,
}

/// <summary>One charge on an invoice, in cents (a credit is negative).</summary>
/// <param name="Sla">For an <see cref="InvoiceLineKind.SlaCredit"/> line, the measurement behind it; null otherwise.</param>
[GenerateSerializer, Alias("invoice-line")]
public sealed record InvoiceLine(
    [property: Id(0)] InvoiceLineKind Kind,
    [property: Id(1)] int Quarter,
    [property: Id(2)] long AmountCents,
    [property: Id(3)] Slas.SlaCreditDetail? Sla = null);

/// <summary>
/// An issued invoice; never changed once issued. Two invoices are equal when their ids, dates and lines
/// are (the lines compared in order), so a preview can be compared with the invoice finally issued.
/// </summary>
/// <param name="InvoiceId">Deterministic (see <see cref="InvoicePlanner"/>), so a retried command issues the same invoice.</param>
/// <param name="IssuedAt">When it was issued.</param>
/// <param name="Lines">Its charges, in the order they are printed.</param>
[GenerateSerializer, Alias("invoice")]
public sealed record Invoice(
    [property: Id(0)] string InvoiceId,
    [property: Id(1)] DateTimeOffset IssuedAt,
    [property: Id(2)] List<InvoiceLine> Lines)
{
    public long TotalCents => Lines.Sum(l => l.AmountCents);

    public bool Equals(Invoice? other) =>
        other is not null
        && string.Equals(InvoiceId, other.InvoiceId, StringComparison.Ordinal)
        && IssuedAt.Equals(other.IssuedAt)
        && Lines.SequenceEqual(other.Lines);

    public override int GetHashCode() => HashCode.Combine(InvoiceId, IssuedAt, Lines.Count);
}
