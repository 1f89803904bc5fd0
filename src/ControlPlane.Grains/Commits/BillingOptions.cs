namespace ControlPlane.Grains.Commits;

/// <summary>Quarter closing (configuration section <c>Billing</c>).</summary>
public sealed class BillingOptions
{
    public const string SectionName = "Billing";

    /// <summary>Close quarters (and issue their invoices) by a durable reminder; off: operators close them.</summary>
    /// <value>true.</value>
    public bool AutoCloseQuarters { get; set; } = true;

    /// <summary>Days after a quarter's end during which late events still count in that quarter.</summary>
    /// <value>35.</value>
    public int LateUsageGraceDays { get; set; } = 35;

    /// <summary>
    /// How often each contract's durable reminder checks for quarters due to close. Orleans' minimum
    /// reminder period is lowered to match when this is under a minute (tests).
    /// </summary>
    /// <value>3600 seconds.</value>
    public int AutoCloseCheckSeconds { get; set; } = 3600;
}
