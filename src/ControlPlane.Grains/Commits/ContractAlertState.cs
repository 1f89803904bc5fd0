namespace ControlPlane.Grains.Commits;

/// <summary>
/// What a contract has told its customer's webhooks: a record of its own beside the ledger (nothing in it is money, and a
/// publish is idempotent by event id, so it need not be written with the ledger).
/// </summary>
[GenerateSerializer, Alias("contract-alert-state")]
public sealed class ContractAlertState
{
    /// <summary>Per quarter, the commit thresholds announced (percent).</summary>
    [Id(0)] public Dictionary<int, List<int>> Thresholds { get; set; } = new();

    /// <summary>The invoices announced.</summary>
    [Id(1)] public List<string> Invoices { get; set; } = [];
}
