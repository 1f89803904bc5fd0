using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Slas;

namespace ControlPlane.Contracts.Commits;

/// <summary>
/// One customer contract, keyed by <see cref="GrainKeys.Contract"/>: terms, true-ups, closed quarter
/// books and invoices in one state record. Usage itself lives in the contract's ledger-day buckets;
/// the contract reads them to show its book and freezes them when a quarter closes.
/// </summary>
[Alias("IContractGrain")]
public interface IContractGrain : IGrainWithStringKey
{
    /// <summary>Creates the contract and issues its opening invoice. Retrying with the same terms returns the same result.</summary>
    [Alias("CreateAsync")]
    Task<ContractOutcome> CreateAsync(ContractTerms terms);

    [Alias("AddTrueUpAsync")]
    Task<ContractOutcome> AddTrueUpAsync(TrueUp trueUp);

    /// <summary>
    /// Closes quarter <paramref name="quarter"/> and issues its invoice; closing it again returns that invoice. The outcome
    /// carries no contract view (reading one costs a read of every usage day of the term).
    /// </summary>
    [Alias("CloseQuarterAsync")]
    Task<ContractOutcome> CloseQuarterAsync(int quarter);

    /// <summary>
    /// After the last quarter closed, bills late usage that has arrived since on an invoice of its own
    /// (there is no next close to carry it); no invoice when nothing is pending.
    /// </summary>
    [Alias("BillLateUsageAsync")]
    Task<ContractOutcome> BillLateUsageAsync();

    /// <summary>Closes every quarter whose end plus the late-usage grace has passed, and bills late usage after the term.</summary>
    [Alias("CloseDueQuartersAsync")]
    Task CloseDueQuartersAsync();

    /// <summary>
    /// A hint that usage was counted for the contract: it checks its commit thresholds a few seconds later (one check for
    /// a burst of hints). A lost hint is made up by the next one or by the contract's reminder.
    /// </summary>
    [Alias("UsageRecordedAsync")]
    [Orleans.Concurrency.OneWay]
    Task UsageRecordedAsync();

    /// <summary>The terms and the quarter book with usage so far; null when the contract does not exist.</summary>
    [Alias("GetAsync")]
    Task<ContractView?> GetAsync();

    /// <summary>Issued invoices, oldest first; null when the contract does not exist.</summary>
    [Alias("GetInvoicesAsync")]
    Task<List<Invoice>?> GetInvoicesAsync();

    /// <summary>The invoice closing the first open quarter would issue now.</summary>
    [Alias("PreviewAsync")]
    Task<ContractOutcome> PreviewAsync();

    /// <summary>
    /// Sets the SLO terms of one of the customer's dedicated deployments (<see cref="ContractLedger.SetSlo"/>): the
    /// terms as stored, or why not. Setting the same terms again changes nothing.
    /// </summary>
    [Alias("SetSloAsync")]
    Task<SloOutcome> SetSloAsync(SloTerms terms);

    /// <summary>Every SLO period started so far, with its measurement and credit; null when the contract does not exist.</summary>
    [Alias("GetSlasAsync")]
    Task<List<SlaPeriodView>?> GetSlasAsync();
}

[GenerateSerializer, Alias("slo-outcome")]
public sealed record SloOutcome(
    [property: Id(0)] SloTerms? Terms,
    [property: Id(1)] LedgerError? Error);

/// <summary>
/// One SLO period of one deployment as operators and the customer see it: the measurement behind it and the credit,
/// final once its quarter closed (then <see cref="InvoiceId"/> names the invoice that carries it, if any was earned),
/// else what the close would give if the period ended as it stands.
/// </summary>
[GenerateSerializer, Alias("sla-period-view")]
public sealed record SlaPeriodView(
    [property: Id(0)] SloPeriodSpan Period,
    [property: Id(1)] SloTerms Terms,
    [property: Id(2)] SloMeasurement Measurement,
    [property: Id(3)] SloCreditTier? Tier,
    [property: Id(4)] long UsageCents,
    [property: Id(5)] long CreditCents,
    [property: Id(6)] bool Final,
    [property: Id(7)] string? InvoiceId);

/// <summary>The result of a contract command: an invoice (when one was issued or previewed), or why not.</summary>
[GenerateSerializer, Alias("contract-outcome")]
public sealed record ContractOutcome(
    [property: Id(0)] Invoice? Invoice,
    [property: Id(1)] LedgerError? Error,
    [property: Id(2)] ContractView? Contract);

/// <summary>A contract as operators and its customer see it.</summary>
[GenerateSerializer, Alias("contract-view")]
public sealed record ContractView(
    [property: Id(0)] ContractTerms Terms,
    [property: Id(1)] List<TrueUp> TrueUps,
    [property: Id(2)] List<QuarterLine> Quarters,
    [property: Id(3)] List<ModelUsage> UsageByModel,
    [property: Id(4)] long PendingLateUsageCents,
    [property: Id(5)] List<SloTerms>? Slos = null);
