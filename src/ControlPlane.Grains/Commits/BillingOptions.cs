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
}
