using System.Text.RegularExpressions;
using ControlPlane.Domain;
using ControlPlane.Contracts.Metering;
using ControlPlane.Domain.Commits;
using ControlPlane.Domain.Metering;

namespace ControlPlane.Server.Api.Metering;

/// <summary>A model's list price per million tokens (numbers or strings).</summary>
public sealed record SetPriceRequest(decimal? InputUsdPer1M, decimal? OutputUsdPer1M);

public sealed record PriceResponse(string Model, decimal InputUsdPer1M, decimal OutputUsdPer1M, DateTimeOffset EffectiveFrom)
{
    public static PriceResponse From(ModelPrice price) =>
        new(price.Model, price.Rate.InputUsdPer1M, price.Rate.OutputUsdPer1M, price.EffectiveFrom);
}

/// <summary>A batch of usage events from the inference gateway.</summary>
public sealed record UsageBatchRequest(string? BatchId, IReadOnlyList<UsageEventRequest?>? Events);

public sealed record UsageEventRequest(
    string? EventId,
    string? CustomerId,
    string? DeploymentId,
    string? Model,
    long? InputTokens,
    long? OutputTokens,
    DateTimeOffset? Timestamp);

/// <summary>How many events of the batch were new, and how many had been counted before.</summary>
public sealed record UsageBatchResponse(int Accepted, int Duplicates);

public sealed record PayAsYouGoUsageResponse(string CustomerId, string Month, IReadOnlyList<Commits.ModelUsageResponse> Usage, string TotalUsd)
{
    public static PayAsYouGoUsageResponse From(string customerId, DateOnly month, IReadOnlyList<UsageAggregate> usage)
    {
        var byModel = usage
            .GroupBy(u => u.Model, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new Commits.ModelUsageResponse(g.Key, g.Sum(u => u.InputTokens), g.Sum(u => u.OutputTokens), Money.Format(Pricing.PriceCents(g, 0m))))
            .ToArray();
        return new PayAsYouGoUsageResponse(customerId, month.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), byModel, Money.Format(Pricing.PriceCents(usage, 0m)));
    }
}
