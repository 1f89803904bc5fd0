namespace ControlPlane.Grains.Commits;

/// <summary>Quarter and pay-as-you-go month closing (configuration section <c>Billing</c>).</summary>
public sealed class BillingOptions
{
    public const string SectionName = "Billing";

    /// <summary>Close quarters (and issue their invoices) by a durable reminder; off: operators close them.</summary>
    /// <value>true.</value>
    public bool AutoCloseQuarters { get; set; } = true;

    /// <summary>Days after a quarter's end during which late events still count in that quarter.</summary>
    /// <value>35.</value>
    public int LateUsageGraceDays { get; set; } = 35;

    /// <summary>Close pay-as-you-go months (and issue their invoices) by a durable reminder; off: operators close them.</summary>
    /// <value>true.</value>
    public bool AutoClosePaygMonths { get; set; } = true;

    /// <summary>
    /// Days after a pay-as-you-go month's end during which its usage still counts in that month; then the month closes
    /// and later usage for it is late usage, billed on the next invoice.
    /// </summary>
    /// <value>3.</value>
    public int PaygGraceDays { get; set; } = 3;

    /// <summary>
    /// How often each contract's (and each pay-as-you-go customer's with an open month) durable reminder checks for
    /// quarters (months) due to close. Orleans' minimum
    /// reminder period is lowered to match when this is under a minute (tests).
    /// </summary>
    /// <value>3600 seconds.</value>
    public int AutoCloseCheckSeconds { get; set; } = 3600;

    /// <summary>
    /// How long a silo's copy of the price list is leased (see <c>PriceListCache</c>): a copy is renewed in the background
    /// after half of it, and a price change made while a silo is unreachable, or within this time of the price list
    /// moving silo, waits up to this long before it is answered.
    /// </summary>
    /// <value>5 seconds.</value>
    public int PriceCacheLeaseSeconds { get; set; } = 5;
}
