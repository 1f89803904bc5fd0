using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ControlPlane.Simulator.Live;

/// <summary>
/// A contract's current quarter as <c>GET /admin/v1/contracts/{id}</c> returns it: what was committed, what was
/// used and what is left, in dollars exactly as the API states them (decimal, never a double).
/// </summary>
internal sealed record ContractBalance(string ContractId, int Quarter, decimal CommitUsd, decimal AvailableUsd, decimal UsageUsd, decimal UnusedUsd, decimal OverageUsd)
{
    /// <summary>The quarter of <paramref name="contract"/> that holds <paramref name="now"/>; null when the term does not.</summary>
    /// <exception cref="AdminApiException">The answer does not look like a contract.</exception>
    public static ContractBalance? From(JsonElement contract, DateTimeOffset now)
    {
        try
        {
            var id = contract.GetProperty("contractId").GetString() ?? "";
            foreach (var quarter in contract.GetProperty("quarters").EnumerateArray())
            {
                if (quarter.GetProperty("start").GetDateTimeOffset() <= now && now < quarter.GetProperty("end").GetDateTimeOffset())
                {
                    return new ContractBalance(
                        id,
                        quarter.GetProperty("quarter").GetInt32(),
                        Usd(quarter, "commitUsd"),
                        Usd(quarter, "availableUsd"),
                        Usd(quarter, "usageUsd"),
                        Usd(quarter, "unusedUsd"),
                        Usd(quarter, "overageUsd"));
                }
            }

            return null;
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
        {
            throw new AdminApiException($"the contract is not what the simulator understands: {e.Message}");
        }
    }

    /// <summary>
    /// One short line: the quarter's commit, what it used (and how much more than <paramref name="previous"/>), what
    /// remains of what is available, and any overage.
    /// </summary>
    public string Describe(ContractBalance? previous)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{ContractId} Q{Quarter}: commit {CommitUsd:0.00}, used {UsageUsd:0.00}");
        if (previous is not null && previous.Quarter == Quarter)
        {
            text.Append(CultureInfo.InvariantCulture, $" (+{UsageUsd - previous.UsageUsd:0.00})");
        }

        text.Append(CultureInfo.InvariantCulture, $", remaining {UnusedUsd:0.00}");
        if (OverageUsd > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", overage {OverageUsd:0.00}");
        }

        return text.Append(" USD").ToString();
    }

    /// <summary>Money as the API writes it: a string (<c>"250000.00"</c>) or, leniently, a number.</summary>
    private static decimal Usd(JsonElement quarter, string name)
    {
        var value = quarter.GetProperty(name);
        return value.ValueKind == JsonValueKind.String
            ? decimal.Parse(value.GetString()!, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture)
            : value.GetDecimal();
    }
}
